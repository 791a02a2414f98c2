from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from storepulse import redis_keys
from storepulse.devstack import Stack
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry, token_cipher
from tests.conftest import new_shop_domain


@pytest.fixture
async def registry(stack: Stack) -> AsyncIterator[ShopRegistry]:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    yield ShopRegistry(client, token_cipher(Settings(SHOPIFY_API_SECRET="s")))
    await client.aclose()


async def test_install_uninstall_and_remove(registry: ShopRegistry) -> None:
    shop = new_shop_domain()
    assert await registry.get(shop) is None
    await registry.install(shop, "shpat_secret", scopes="read_orders")
    assert await registry.is_installed(shop)
    assert await registry.access_token(shop) == "shpat_secret"
    assert shop in [s.domain for s in await registry.all()]

    await registry.mark_uninstalled(shop)
    assert not await registry.is_installed(shop)
    assert await registry.access_token(shop) is None
    assert (await registry.get(shop)).status == "uninstalled"

    assert await registry.remove(shop)
    assert await registry.get(shop) is None


async def test_token_is_encrypted_at_rest(registry: ShopRegistry, shop: str, stack: Stack) -> None:
    await registry.install(shop, "shpat_plaintext")
    raw = redis.Redis.from_url(stack.env["REDIS_URL"])
    stored = await raw.hget(redis_keys.shop_record(shop), "token")
    await raw.aclose()
    assert b"shpat_plaintext" not in stored
