import redis.asyncio as redis

from storepulse import redis_keys
from storepulse.shops import ShopRegistry
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
