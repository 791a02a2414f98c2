"""With the shop registry (Redis) unreachable ingest answers 503, never 500, and is not ready."""

import asyncio

from loadtests.payloads import order, shop_resource, webhook
from shopify.topics import APP_UNINSTALLED, ORDERS_CREATE
from storepulse.devstack import Stack, start_redis
from storepulse.shops import open_registry
from tests.support.ingest import in_process_ingest, ingest_settings
from tests.support.metrics import metric
from tests.support.stack import new_shop_domain
from tests.support.webhooks import deliver, post

UNAVAILABLE = {"reason": "registry_unavailable"}


async def test_registry_outage_is_503_and_not_ready(stack: Stack) -> None:
    redis_child = await asyncio.to_thread(start_redis)
    settings = ingest_settings(stack, REDIS_URL=f"redis://127.0.0.1:{redis_child.port}/0", shop_cache_s=0.1)
    shop = new_shop_domain()
    registry = open_registry(settings)
    await registry.install(shop, "shpat_test_token")
    await registry.aclose()
    try:
        async with in_process_ingest(settings) as ingest:
            await deliver(ingest, webhook(ORDERS_CREATE, shop, order()))
            redis_child.kill()
            await asyncio.sleep(0.2)  # past the cached answer
            before = await metric(
                ingest, "storepulse_ingest_webhooks_rejected_total", {"reason": "registry_unavailable"}
            )
            assert (await post(ingest, webhook(ORDERS_CREATE, shop, order()))).status_code == 503
            assert (
                await post(ingest, webhook(APP_UNINSTALLED, shop, shop_resource(shop)))
            ).status_code == 503
            after = await metric(
                ingest, "storepulse_ingest_webhooks_rejected_total", {"reason": "registry_unavailable"}
            )
            assert after == before + 2
            ready = await ingest.get("/ready")
            assert ready.status_code == 503 and ready.json()["redis"] is False
    finally:
        redis_child.stop()
