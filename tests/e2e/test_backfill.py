"""`storepulse backfill`: a shop's existing orders through the fake Admin GraphQL into the metrics."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as redis

from ingest.backfill import backfill, cursor_key
from ingest.producer import DurableProducer
from loadtests.payloads import CATALOG, next_id, order, webhook
from storepulse.admin_api import AdminApi, Retryable
from tests.conftest import Services, signed_headers
from tests.customer_state import eventually, redis_client, segments, vips
from tests.fake_shopify import FakeShopify, running_fake_shopify
from tests.fake_shopify.customers import add_order, install

TOKEN = "shpat_backfill"


def node(
    customer: int, amount: str, *, days: int, cancelled: bool = False, refund: str | None = None
) -> dict:
    at = (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")
    return {
        "id": f"gid://shopify/Order/{next_id()}",
        "createdAt": at,
        "updatedAt": at,
        "cancelledAt": at if cancelled else None,
        "customer": {"id": f"gid://shopify/Customer/{customer}"},
        "totalPriceSet": {"shopMoney": {"amount": amount, "currencyCode": "EUR"}},
        "refunds": [
            {"id": f"gid://shopify/Refund/{next_id()}", "totalRefundedSet": {"shopMoney": {"amount": refund}}}
        ]
        if refund
        else [],
    }


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    # A small bucket: the backfill has to pace its pages.
    with running_fake_shopify(install(FakeShopify(max_points=40, restore_rate=40))) as fake:
        yield fake


@pytest.fixture
async def client(services: Services) -> AsyncIterator[redis.Redis]:
    c = redis_client(services.stack)
    yield c
    await c.aclose()


async def run_backfill(services: Services, fake: FakeShopify, client, shop: str, attempts: int = 4) -> int:
    async def token_for(_: str) -> str:
        return TOKEN

    producer = DurableProducer(
        services.stack.env["KAFKA_URL"].removeprefix("kafka://"), idempotent=False, timeout=10
    )
    try:
        async with httpx.AsyncClient() as http:
            api = AdminApi(
                http,
                token_for,
                base_url=fake.base_url_template(),
                api_version="2026-10",
                attempts=attempts,
                max_backoff_s=0.2,
            )
            return await backfill(shop, api, producer, client, page=2, show_progress=False)
    finally:
        await producer.stop()


async def test_backfill_imports_history_resumes_and_never_double_counts(
    services: Services, fake: FakeShopify, client, shop: str
) -> None:
    fake.tokens[shop] = TOKEN
    loyal, lapsed, overlap = next_id(), next_id(), next_id()
    history = [
        node(loyal, "10.00", days=40),
        node(loyal, "20.00", days=30, refund="5.00"),
        node(lapsed, "7.00", days=400),
        node(loyal, "30.00", days=20),
        node(lapsed, "7.00", days=390, cancelled=True),
        node(overlap, "1.00", days=3),
        node(lapsed, "7.00", days=380),
        node(overlap, "1.00", days=2),
        node(overlap, "1.00", days=1),
    ]
    for n in history:
        add_order(fake, shop, n)
    # The newest order of `overlap` also arrives by webhook: it must count once.
    last = history[-1]
    live = order(customer_id=overlap, product=CATALOG[0]) | {
        "id": int(last["id"].rsplit("/", 1)[1]),
        "created_at": last["createdAt"],
        "updated_at": last["updatedAt"],
        "total_price": "1.00",
    }
    hook = webhook("orders/create", shop, live)
    async with httpx.AsyncClient(base_url=services.ingest_url) as http:
        assert (
            await http.post("/webhooks/shopify", content=hook.body, headers=signed_headers(hook))
        ).is_success

    # The shop's API goes down after two pages: the run stops with its cursor saved.
    pages = {"n": 0}
    orders_resolver = fake.resolvers["orders"]

    def flaky(f: FakeShopify, s: str, args: dict) -> dict:
        pages["n"] += 1
        if pages["n"] > 2:
            raise RuntimeError("Shopify is down")
        return orders_resolver(f, s, args)

    fake.resolvers["orders"] = flaky
    with pytest.raises(Retryable):
        await run_backfill(services, fake, client, shop, attempts=1)
    saved = await client.hgetall(cursor_key(shop))
    assert saved[b"done"] == b"4"

    fake.resolvers["orders"] = orders_resolver
    assert await run_backfill(services, fake, client, shop) == len(history) - 4
    first_of_second_run = fake.calls_to("orders")[-3]  # three pages: 2 + 2 + 1 orders
    assert first_of_second_run.arguments["after"] == saved[b"cursor"].decode()
    assert not await client.exists(cursor_key(shop))

    async def settled() -> bool:
        got = await vips(client, shop)
        return str(loyal) in got and str(overlap) in got and str(lapsed) in await segments(client, shop)

    await eventually(settled)
    got = await vips(client, shop)
    assert got[str(loyal)] == {"tier": "VIP", "orders_count": 3, "total_spent": "60.00", "net_spent": "55.00"}
    assert got[str(overlap)] == {"tier": "VIP", "orders_count": 3, "total_spent": "3.00", "net_spent": "3.00"}
    assert str(lapsed) not in got  # two orders, the last over a year ago
    assert (await segments(client, shop))[str(lapsed)] == "lost"
