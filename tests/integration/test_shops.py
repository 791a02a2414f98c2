import pytest
import redis.asyncio as redis
from cryptography.fernet import Fernet

from storepulse import redis_keys
from storepulse.settings import MissingSecret, Settings
from storepulse.shops import ShopRegistry, UnreadableToken, token_cipher
from tests.support.stack import new_shop_domain


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


async def test_token_is_encrypted_at_rest(
    registry: ShopRegistry, redis_client: redis.Redis, shop: str
) -> None:
    await registry.install(shop, "shpat_plaintext")
    stored = await redis_client.hget(redis_keys.shop_record(shop), "token")
    assert b"shpat_plaintext" not in stored


def registry_with(client: redis.Redis, token_key: str) -> ShopRegistry:
    return ShopRegistry(client, token_cipher(Settings(SHOPIFY_API_SECRET="s", token_key=token_key)))


async def test_a_rotated_token_key_still_reads_tokens_of_the_old_one(
    redis_client: redis.Redis, shop: str
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    await registry_with(redis_client, old).install(shop, "shpat_before")
    assert await registry_with(redis_client, f"{new},{old}").access_token(shop) == "shpat_before"


async def test_an_unreadable_token_is_an_error_that_says_so(redis_client: redis.Redis, shop: str) -> None:
    await registry_with(redis_client, Fernet.generate_key().decode()).install(shop, "shpat_lost")
    with pytest.raises(UnreadableToken, match=f"{shop}: .*STOREPULSE_TOKEN_KEY"):
        await registry_with(redis_client, Fernet.generate_key().decode()).access_token(shop)


@pytest.mark.parametrize("key", ["", " , ", "not-a-fernet-key"])
def test_without_a_token_key_there_is_no_cipher(key: str) -> None:
    with pytest.raises(MissingSecret, match="STOREPULSE_TOKEN_KEY"):
        token_cipher(Settings(SHOPIFY_API_SECRET="s", token_key=key))
