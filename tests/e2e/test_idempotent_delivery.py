"""Shopify re-delivers and reorders webhooks: downstream, nothing changes twice or goes back."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import redis.asyncio as redis

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import ORDERS_CREATE, ORDERS_UPDATED
from tests.support.eventually import eventually
from tests.support.sse import listening
from tests.support.stack import Services
from tests.support.state import vips
from tests.support.webhooks import deliver


async def test_the_same_webhook_delivered_2_or_10_times_counts_and_shows_once(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    c = next_id()
    hooks = [webhook(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[2])) for _ in range(3)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        for hook, times in zip(hooks, (2, 10, 10), strict=True):
            for _ in range(times):
                await deliver(ingest, hook)  # same body, same X-Shopify-Webhook-Id: a retry
        await sse.wait_for(3, timeout=15)

        async def counted() -> dict | None:
            return (await vips(redis_client, shop)).get(str(c))

        vip = await eventually(counted)
        # A new order of the same customer follows the retries on their partition: once it is
        # shown and counted, any duplicate of theirs would have been too. Its product and total
        # tell it apart from them.
        marker = order(customer_id=c, product=CATALOG[0]) | {"total_price": "1000.00"}
        await deliver(ingest, webhook(ORDERS_CREATE, shop, marker))
        await sse.wait_for_kind("purchase", 1, timeout=15, product=CATALOG[0][0])

        async def marker_counted() -> dict | None:
            latest = (await vips(redis_client, shop)).get(str(c))
            return latest if latest and Decimal(latest["total_spent"]) >= 1000 else None

        latest = await eventually(marker_counted)
    assert len(sse.events) == 4
    assert len({e.id for e in sse.events}) == 4
    assert latest == {**vip, "orders_count": 4, "total_spent": "1072.00", "net_spent": "1072.00"}
    assert vip == {"tier": "VIP", "orders_count": 3, "total_spent": "72.00", "net_spent": "72.00"}


async def test_an_older_orders_updated_does_not_regress_state(
    ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    c = next_id()
    orders = [order(customer_id=c, product=CATALOG[0]) for _ in range(3)]
    edited_at = datetime.now(UTC) + timedelta(minutes=10)
    newer = orders[0] | {"total_price": "80.00", "updated_at": edited_at.isoformat()}
    older = orders[0] | {"total_price": "1.00", "updated_at": (edited_at - timedelta(minutes=5)).isoformat()}
    for o in orders:
        await deliver(ingest, webhook(ORDERS_CREATE, shop, o))
    await deliver(ingest, webhook(ORDERS_UPDATED, shop, newer))
    await deliver(ingest, webhook(ORDERS_UPDATED, shop, older))
    # A marker after both updates: once it counts, both updates were processed (same partition).
    await deliver(ingest, webhook(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[0])))

    async def settled() -> dict | None:
        vip = (await vips(redis_client, shop)).get(str(c))
        return vip if vip and vip["orders_count"] == 4 else None

    vip = await eventually(settled)
    assert vip["total_spent"] == "257.00"  # 80.00 + 3 * 59.00, never 1.00 + ...
