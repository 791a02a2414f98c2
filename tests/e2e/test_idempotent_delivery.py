"""Shopify re-delivers and reorders webhooks: downstream, nothing changes twice or goes back."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import ORDERS_CREATE, ORDERS_UPDATED
from tests.conftest import Services, signed_headers
from tests.customer_state import eventually, redis_client, vips
from tests.sse import listening


@pytest.fixture
async def client(services: Services) -> AsyncIterator:
    c = redis_client(services.stack)
    yield c
    await c.aclose()


async def post(http: httpx.AsyncClient, hook) -> None:
    answer = await http.post("/webhooks/shopify", content=hook.body, headers=signed_headers(hook))
    assert answer.status_code == 200


async def test_the_same_webhook_delivered_2_or_10_times_counts_and_shows_once(
    services: Services, client, shop: str
) -> None:
    c = next_id()
    hooks = [webhook(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[2])) for _ in range(3)]
    async with (
        listening(f"{services.push_url}/sse/{shop}") as sse,
        httpx.AsyncClient(base_url=services.ingest_url) as http,
    ):
        for hook, times in zip(hooks, (2, 10, 10), strict=True):
            for _ in range(times):
                await post(http, hook)  # same body, same X-Shopify-Webhook-Id: a retry
        await sse.wait_for(3, timeout=15)

        async def counted() -> dict | None:
            return (await vips(client, shop)).get(str(c))

        vip = await eventually(counted)
        await asyncio.sleep(1.0)  # room for any duplicate that should not exist
    assert len(sse.events) == 3
    assert len({e.id for e in sse.events}) == 3
    assert (await vips(client, shop))[str(c)] == vip
    assert vip == {"tier": "VIP", "orders_count": 3, "total_spent": "72.00", "net_spent": "72.00"}


async def test_an_older_orders_updated_does_not_regress_state(services: Services, client, shop: str) -> None:
    c = next_id()
    orders = [order(customer_id=c, product=CATALOG[0]) for _ in range(3)]
    edited_at = datetime.now(UTC) + timedelta(minutes=10)
    newer = orders[0] | {"total_price": "80.00", "updated_at": edited_at.isoformat()}
    older = orders[0] | {"total_price": "1.00", "updated_at": (edited_at - timedelta(minutes=5)).isoformat()}
    async with httpx.AsyncClient(base_url=services.ingest_url) as http:
        for o in orders:
            await post(http, webhook(ORDERS_CREATE, shop, o))
        await post(http, webhook(ORDERS_UPDATED, shop, newer))
        await post(http, webhook(ORDERS_UPDATED, shop, older))
        # A marker after both updates: once it counts, both updates were processed (same partition).
        await post(http, webhook(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[0])))

    async def settled() -> dict | None:
        vip = (await vips(client, shop)).get(str(c))
        return vip if vip and vip["orders_count"] == 4 else None

    vip = await eventually(settled)
    assert vip["total_spent"] == "257.00"  # 80.00 + 3 * 59.00, never 1.00 + ...
