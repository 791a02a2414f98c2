"""`storepulse backfill`: a shop's existing orders through the fake Admin GraphQL into the metrics.

Small shops are read page by page, large ones with a bulk operation; both resume after an
interruption and both end with the same exact metrics.
"""

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as redis

from ingest.backfill import backfill
from ingest.producer import BrokerUnavailable, DurableProducer
from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.admin import AdminApi, Retryable
from shopify.http_client import shopify_http
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import DEV_SECRETS, Stack, service_argv
from storepulse.envelope import ORDERS_BACKFILL
from storepulse.kafka_topics import TOPIC_ORDERS
from tests.fake_shopify import FakeShopify, bulk, customers, running_fake_shopify
from tests.fake_shopify.customers import add_order
from tests.support.eventually import eventually
from tests.support.kafka import bootstrap, consume
from tests.support.orders import order_node as node
from tests.support.stack import SECRET, Services
from tests.support.state import segments, vips
from tests.support.webhooks import deliver

TOKEN = "shpat_backfill"


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    # A small bucket: the backfill has to pace its pages.
    with running_fake_shopify(
        bulk.install(customers.install(FakeShopify(max_points=40, restore_rate=40)))
    ) as fake:
        yield fake


class FlakyProducer(DurableProducer):
    """The real producer, whose broker goes away after `limit` acknowledged records."""

    def __init__(self, bootstrap: str, limit: int) -> None:
        super().__init__(bootstrap, idempotent=False, timeout=10)
        self.limit = limit

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        if self.limit <= 0:
            raise BrokerUnavailable("broker went away")
        self.limit -= 1
        await super().send(topic, key, value)


async def run_backfill(
    stack: Stack,
    fake: FakeShopify,
    client,
    shop: str,
    attempts: int = 4,
    *,
    broker_fails_after: int | None = None,
    bulk_threshold: int = 10_000,
) -> int:
    async def token_for(_: str) -> str:
        return TOKEN

    servers = bootstrap(stack)
    producer = (
        DurableProducer(servers, idempotent=False, timeout=10)
        if broker_fails_after is None
        else FlakyProducer(servers, broker_fails_after)
    )
    try:
        async with shopify_http(fake.base_url_template(), timeout=10.0) as http:
            api = AdminApi(http, token_for, api_version="2026-10", attempts=attempts, max_backoff_s=0.2)
            return await backfill(
                shop,
                api,
                producer,
                client,
                page=2,
                bulk_threshold=bulk_threshold,
                poll_s=0.01,
                show_progress=False,
            )
    finally:
        await producer.stop()


@dataclass
class History:
    """A shop's past orders (one refund, one cancellation) and one of them also live by webhook."""

    loyal: int
    lapsed: int
    overlap: int
    orders: list[dict]


async def seed_history(ingest: httpx.AsyncClient, fake: FakeShopify, shop: str) -> History:
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
    await deliver(ingest, webhook(ORDERS_CREATE, shop, live))
    return History(loyal, lapsed, overlap, history)


async def assert_exact_metrics(client: redis.Redis, shop: str, h: History) -> None:
    async def settled() -> bool:
        got = await vips(client, shop)
        return str(h.loyal) in got and str(h.overlap) in got and str(h.lapsed) in await segments(client, shop)

    await eventually(settled)
    got = await vips(client, shop)
    assert got[str(h.loyal)] == {
        "tier": "VIP",
        "orders_count": 3,
        "total_spent": "60.00",
        "net_spent": "55.00",
    }
    assert got[str(h.overlap)] == {
        "tier": "VIP",
        "orders_count": 3,
        "total_spent": "3.00",
        "net_spent": "3.00",
    }
    assert str(h.lapsed) not in got  # two orders, the last over a year ago
    assert (await segments(client, shop))[str(h.lapsed)] == "lost"


async def test_backfill_imports_history_resumes_and_never_double_counts(
    services: Services, ingest: httpx.AsyncClient, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    h = await seed_history(ingest, fake, shop)

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
        await run_backfill(services.stack, fake, redis_client, shop, attempts=1)
    saved = await redis_client.hgetall(redis_keys.backfill_state(shop))
    assert saved[b"done"] == b"4"

    fake.resolvers["orders"] = orders_resolver
    assert await run_backfill(services.stack, fake, redis_client, shop) == len(h.orders) - 4
    first_of_second_run = fake.calls_to("orders")[-3]  # three pages: 2 + 2 + 1 orders
    assert first_of_second_run.arguments["after"] == saved[b"cursor"].decode()
    assert not await redis_client.exists(redis_keys.backfill_state(shop))
    assert not fake.calls_to("bulkOperationRunQuery")  # 9 orders: under the threshold
    await assert_exact_metrics(redis_client, shop, h)


async def backfill_records(stack: Stack, shop: str) -> list[dict]:
    """Every `orders/backfill` record produced for `shop` so far."""
    found = await consume(stack, TOPIC_ORDERS, key_prefix=f"{shop}/".encode())
    return [r for r in found if r["topic"] == ORDERS_BACKFILL]


async def test_large_shop_is_imported_by_a_bulk_operation_that_resumes_after_a_broker_outage(
    services: Services, ingest: httpx.AsyncClient, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    h = await seed_history(ingest, fake, shop)

    # Over the threshold: one bulk operation. The broker goes away after two batches of two.
    with pytest.raises(BrokerUnavailable):
        await run_backfill(services.stack, fake, redis_client, shop, bulk_threshold=5, broker_fails_after=4)
    (operation,) = bulk.operations(fake, shop)
    assert operation["status"] == "COMPLETED"
    saved = await redis_client.hgetall(redis_keys.backfill_state(shop))
    assert saved == {b"operation": operation["id"].encode(), b"done": b"4"}

    # The next run downloads the same operation's file again and produces only the rest.
    assert await run_backfill(services.stack, fake, redis_client, shop, bulk_threshold=5) == len(h.orders) - 4
    assert len(bulk.operations(fake, shop)) == 1
    assert not fake.calls_to("orders")  # never paged
    assert not await redis_client.exists(redis_keys.backfill_state(shop))
    downloads = bulk.bulk_state(fake, shop)["downloads"]
    assert len(downloads) == 2
    assert all("x-shopify-access-token" not in headers for headers in downloads)

    records = await backfill_records(services.stack, shop)
    assert sorted(r["payload"]["id"] for r in records) == sorted(
        int(n["id"].rsplit("/", 1)[1]) for n in h.orders
    )
    await assert_exact_metrics(redis_client, shop, h)


async def test_an_expired_bulk_operation_is_replaced_by_a_new_one(
    stack: Stack, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    fake.tokens[shop] = TOKEN
    for days in (3, 2, 1):
        add_order(fake, shop, node(next_id(), "5.00", days=days))
    with pytest.raises(BrokerUnavailable):
        await run_backfill(stack, fake, redis_client, shop, bulk_threshold=1, broker_fails_after=2)
    (first,) = bulk.operations(fake, shop)
    bulk.expire_operation(fake, shop, first["id"])

    assert await run_backfill(stack, fake, redis_client, shop, bulk_threshold=1) == 3  # all of them, again
    assert [op["status"] for op in bulk.operations(fake, shop)] == ["EXPIRED", "COMPLETED"]


def backfill_command(stack: Stack, fake: FakeShopify, shop: str) -> subprocess.CompletedProcess[str]:
    env = {
        **DEV_SECRETS,  # the stack's token key: the shop fixture's token is encrypted with it
        "REDIS_URL": stack.env["REDIS_URL"],
        "KAFKA_URL": stack.env["KAFKA_URL"],
        "SHOPIFY_API_SECRET": SECRET.decode(),
        "SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(),
        "STOREPULSE_KAFKA_IDEMPOTENT": "false",
        "STOREPULSE_BACKFILL_BULK_THRESHOLD": "2",
        "STOREPULSE_BACKFILL_POLL_S": "0.05",
    }
    return subprocess.run(
        service_argv("backfill", shop), env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


async def test_a_failed_or_blocked_bulk_operation_stops_the_command_with_a_clear_reason(
    stack: Stack, fake: FakeShopify, shop: str
) -> None:
    token = "shpat_test_token"  # what the shop fixture registered
    fake.tokens[shop] = token
    customer = next_id()
    for days in (3, 2, 1):
        add_order(fake, shop, node(customer, "5.00", days=days))

    foreign = bulk.start_foreign_operation(fake, shop)
    blocked = backfill_command(stack, fake, shop)
    assert blocked.returncode == 1
    assert "another bulk query operation is already running for this shop" in blocked.stderr
    bulk.bulk_state(fake, shop)["operations"][foreign]["status"] = "COMPLETED"

    bulk.fail_next_operation(fake, shop, "ACCESS_DENIED")
    failed = backfill_command(stack, fake, shop)
    assert failed.returncode == 1
    assert "failed (ACCESS_DENIED): the app lacks an access scope" in failed.stderr
    assert "Traceback" not in failed.stderr
    for run in (blocked, failed):
        output = run.stdout + run.stderr
        assert token not in output and str(customer) not in output

    # Once the cause is gone, the next run starts a new operation and imports everything.
    done = backfill_command(stack, fake, shop)
    assert done.returncode == 0, done.stderr
    assert f"{shop}: 3 orders produced" in done.stdout
    assert [op["status"] for op in bulk.operations(fake, shop)][-2:] == ["FAILED", "COMPLETED"]
