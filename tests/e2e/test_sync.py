"""The scheduled sync against the real broker, worker and Redis with the fake Shopify: lost
webhooks are applied once, duplicates across webhook, sync and backfill count once, one run per
shop across processes, a crashed run resumes from its checkpoint, lost subscriptions come back, and
a deleted or archived product's notifications are withdrawn and never shown again."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as redis

from ingest.backfill import backfill
from ingest.routing import SUBSCRIBED_TOPICS, route
from ingest.sync_runs import SyncRunning, SyncRuns
from loadtests.payloads import CATALOG, next_id, order, product, webhook
from shopify.subscriptions import topic_enum
from shopify.topics import ORDERS_CREATE, ORDERS_PAID, PRODUCTS_CREATE, PRODUCTS_DELETE
from storepulse import redis_keys
from storepulse.contracts import ShopSettings
from storepulse.devstack import DEV_SECRETS, Stack, service_argv, wait_ready
from storepulse.envelope import envelope_bytes
from storepulse.kafka_topics import TOPIC_SHOP_SETTINGS, shop_key
from tests.fake_shopify import FakeShopify, customers, products, running_fake_shopify, webhooks
from tests.fake_shopify.customers import add_order
from tests.support.eventually import eventually
from tests.support.orders import order_node
from tests.support.stack import SHOP_TOKEN, Services, install_shop, new_shop_domain, worker_env
from tests.support.state import recent_messages, redis_of
from tests.support.sync import customer_rows, sync_clients
from tests.support.webhooks import deliver


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with running_fake_shopify(
        webhooks.register(products.install(customers.install(FakeShopify(max_points=400, restore_rate=200))))
    ) as f:
        yield f


def live(node: dict[str, Any], customer: int) -> dict[str, Any]:
    """The orders/create webhook Shopify sends for `node`."""
    return order(customer_id=customer, product=CATALOG[0]) | {
        "id": int(node["id"].rsplit("/", 1)[1]),
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "total_price": node["totalPriceSet"]["shopMoney"]["amount"],
    }


async def applied(runs: SyncRuns, shop: str, orders: int) -> bool:
    """The last run's `orders_applied` reached `orders` (the worker counts as it applies)."""
    return (await runs.state(shop))["last_run"]["orders_applied"] == orders


async def counts(client: redis.Redis, shop: str, customer: int) -> tuple[int, str, str] | None:
    row = (await customer_rows(client, shop)).get(str(customer))
    return (row["orders_count"], row["total_spent"], row["net_spent"]) if row else None


def exactly(client: redis.Redis, shop: str, customer: int, want: tuple[int, str, str]):
    async def check() -> bool:
        return await counts(client, shop, customer) == want

    check.__name__ = f"customer {customer} at {want}"
    return check


async def test_lost_webhooks_are_applied_by_the_next_sync_and_duplicates_count_once(
    services: Services, ingest: httpx.AsyncClient, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    fake.tokens[shop] = SHOP_TOKEN
    loyal, other = next_id(), next_id()
    delivered = order_node(loyal, "10.00", days=0.001)
    lost_refunded = order_node(loyal, "20.00", days=0.0008, refund="5.00")
    lost = order_node(other, "7.00", days=0.0005)
    before_install = order_node(other, "3.00", days=30)  # last updated long before: only a full sync reads it
    for node in (before_install, delivered, lost_refunded, lost):
        add_order(fake, shop, node)
    await deliver(ingest, webhook(ORDERS_CREATE, shop, live(delivered, loyal)))
    await eventually(exactly(redis_client, shop, loyal, (1, "10.00", "10.00")))

    async with sync_clients(services.stack, fake, redis_client) as c:
        incremental = await c.runs.run(shop)
        assert (incremental.state, incremental.kind, incremental.orders_fetched) == ("done", "incremental", 3)
        await eventually(exactly(redis_client, shop, loyal, (2, "30.00", "25.00")))
        await eventually(exactly(redis_client, shop, other, (1, "7.00", "7.00")))
        assert await eventually(lambda: applied(c.runs, shop, 2)), (
            "the two lost orders, not the delivered one"
        )

        # The same orders again by a full sync and by the backfill: only the one never read counts.
        full = await c.runs.run(shop, full=True)
        assert (full.state, full.kind, full.orders_fetched) == ("done", "full", 4)
        assert await backfill(shop, c.api, c.producer, redis_client, page=2, show_progress=False) == 4
        # A later order of the same customer (same partition, after every repeat) is the marker.
        marker = order_node(loyal, "1.00", days=0)
        await deliver(ingest, webhook(ORDERS_CREATE, shop, live(marker, loyal)))
        await eventually(exactly(redis_client, shop, loyal, (3, "31.00", "26.00")))
        await eventually(exactly(redis_client, shop, other, (2, "10.00", "10.00")))
        await eventually(lambda: applied(c.runs, shop, 1))  # of the full run's 4: the one never read

        state = await c.runs.state(shop)
        assert state["state"] == "done"
        assert state["last_success"]["kind"] == "full" and state["last_success"]["orders_fetched"] == 4
        assert state["next_run"] > state["last_success"]["started_at"]
        assert not await redis_client.exists(redis_keys.sync_checkpoint(shop))


async def test_a_subscription_shopify_removed_or_moved_is_re_created_by_the_next_sync(
    stack: Stack, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    fake.tokens[shop] = SHOP_TOKEN
    callback = "https://app.example/webhooks/shopify"
    wanted = sorted((topic_enum(t), callback) for t in SUBSCRIBED_TOPICS)
    async with sync_clients(stack, fake, redis_client, public_url="https://app.example") as c:
        first = await c.runs.run(shop)  # a shop holding none: every one is made
        assert sorted(first.subscriptions_repaired or ()) == sorted(SUBSCRIBED_TOPICS)

        webhooks.lose(fake, shop, topic_enum(ORDERS_CREATE))
        paid = next(s for s in webhooks.subscriptions(fake, shop) if s["topic"] == topic_enum(ORDERS_PAID))
        paid["uri"] = "https://old-host.example/webhooks/shopify"
        second = await c.runs.run(shop)
        assert sorted(second.subscriptions_repaired or ()) == sorted([ORDERS_CREATE, ORDERS_PAID])
        assert sorted((s["topic"], s["uri"]) for s in webhooks.subscriptions(fake, shop)) == wanted
        assert (await c.runs.run(shop)).subscriptions_repaired == []

    # Subscriptions from shopify.app.toml: nothing is listed or made per shop.
    webhooks.lose(fake, shop, topic_enum(ORDERS_CREATE))
    asked = len(fake.calls_to("webhookSubscriptions")), len(fake.calls_to("webhookSubscriptionCreate"))
    async with sync_clients(stack, fake, redis_client, webhooks_from_config=True) as c:
        outcome = await c.runs.run(shop)
        assert (outcome.state, outcome.subscriptions_repaired) == ("done", None)
        assert (await c.runs.state(shop))["subscriptions"] == "configuration"
    assert (
        len(fake.calls_to("webhookSubscriptions")),
        len(fake.calls_to("webhookSubscriptionCreate")),
    ) == asked


def recent_orders(fake: FakeShopify, shop: str, customers_: list[int], per_customer: int) -> dict[str, tuple]:
    """`per_customer` orders of each customer, all updated after the install; what each must count."""
    expected = {}
    for customer in customers_:
        for i in range(per_customer):
            add_order(fake, shop, order_node(customer, f"{i + 1}.00", days=0.0001 * (i + 1)))
        total = f"{sum(range(1, per_customer + 1))}.00"
        expected[str(customer)] = (per_customer, total, total)
    return expected


@pytest.fixture
async def own_redis(own_stack: Stack) -> AsyncIterator[redis.Redis]:
    async with redis_of(own_stack) as client:
        yield client


@pytest.fixture
async def own_shop(own_stack: Stack) -> str:
    domain = new_shop_domain()
    await install_shop(own_stack, domain)
    return domain


async def test_two_processes_ticking_together_run_one_sync_of_a_shop(
    own_stack: Stack, fake: FakeShopify, own_redis: redis.Redis, own_shop: str
) -> None:
    shop = own_shop
    fake.tokens[shop] = SHOP_TOKEN
    recent_orders(fake, shop, [next_id() for _ in range(30)], 5)  # 150 orders: two pages
    fake.hold("orders", after=1)  # the run stops before its second page, holding the lease
    finished: list[Any] = []
    async with (
        sync_clients(own_stack, fake, own_redis) as a,
        sync_clients(own_stack, fake, own_redis) as b,
    ):
        await a.runs.request(shop)
        with pytest.raises(SyncRunning):  # asked twice: the merchant sees the one queued
            await b.runs.request(shop)
        started = await asyncio.gather(a.runs.tick(finished.append), b.runs.tick(finished.append))
        assert sorted(started) == [0, 1]
        await eventually(lambda: fake.held == 1, what="the run waiting for its second page")
        assert (await a.runs.state(shop))["state"] == "running"
        for runs in (a.runs, b.runs):
            with pytest.raises(SyncRunning):
                await runs.run(shop)
            assert await runs.tick(finished.append) == 0  # ticking again starts nothing more
        fake.release("orders")
        await eventually(lambda: finished, what="the run's end")
    (outcome,) = finished
    assert (outcome.state, outcome.orders_fetched) == ("done", 150)
    assert len(fake.calls_to("orders")) == 2


async def test_a_worker_sigkilled_mid_sync_is_resumed_from_its_checkpoint_with_exact_metrics(
    own_stack: Stack, fake: FakeShopify, own_redis: redis.Redis, own_shop: str
) -> None:
    shop = own_shop
    fake.tokens[shop] = SHOP_TOKEN
    expected = recent_orders(fake, shop, [next_id() for _ in range(50)], 5)  # 250 orders: three pages
    env = worker_env() | {
        "SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(),
        "STOREPULSE_SYNC_TICK_S": "0.5",
        "STOREPULSE_SYNC_LEASE_S": "3",
        "STOREPULSE_WRITEBACK_DRY_RUN": "true",
    }
    fake.hold("orders", after=1)
    first = own_stack.start_service("worker", extra_env=env, name="worker-sync-1")
    try:
        wait_ready(first.port, 60, first)
        async with sync_clients(own_stack, fake, own_redis) as c:
            await c.runs.request(shop)

        async def checkpointed() -> bool:
            saved = await own_redis.hgetall(redis_keys.sync_checkpoint(shop))
            return fake.held == 1 and saved.get(b"done") == b"100"

        await eventually(checkpointed, timeout=60, what="the first page checkpointed, the second asked for")
    finally:
        first.kill()
    saved = await own_redis.hgetall(redis_keys.sync_checkpoint(shop))
    fake.release("orders")  # answered to a dead worker

    second = own_stack.start_service("worker", extra_env=env, name="worker-sync-2")
    try:
        wait_ready(second.port, 90, second)

        async def synced() -> dict | None:
            async with sync_clients(own_stack, fake, own_redis) as c:
                state = await c.runs.state(shop)
            return state["last_success"]

        success = await eventually(synced, timeout=120, what="the resumed run's success")
        assert success["id"] == saved[b"run"].decode() and success["resumed"] is True
        assert success["orders_fetched"] == 250
        resumed = fake.calls_to("orders")[2]  # page 1, the one held (dead), then the resumed one
        assert resumed.arguments["after"] == saved[b"cursor"].decode()

        diff: dict[str, Any] = {}

        async def exact() -> bool:
            rows = await customer_rows(own_redis, shop)
            got = {c: (r["orders_count"], r["total_spent"], r["net_spent"]) for c, r in rows.items()}
            diff.clear()
            diff.update({c: got.get(c) for c in expected if got.get(c) != expected[c]})
            return got == expected

        await eventually(exact, timeout=120, what=lambda: f"every customer's metrics exact: {diff}")
    finally:
        second.stop()


def sync_command(stack: Stack, fake: FakeShopify, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **DEV_SECRETS,  # the stack's token key: the shop fixture's token is encrypted with it
        "REDIS_URL": stack.env["REDIS_URL"],
        "KAFKA_URL": stack.env["KAFKA_URL"],
        "SHOPIFY_API_SECRET": "test-secret",
        "SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(),
        "STOREPULSE_KAFKA_IDEMPOTENT": "false",
    }
    return subprocess.run(
        service_argv("sync", *args), env={**os.environ, **env}, capture_output=True, text=True, timeout=90
    )


async def test_storepulse_sync_runs_a_shops_sync_and_says_what_it_did(
    services: Services, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    fake.tokens[shop] = SHOP_TOKEN
    customer = next_id()
    expected = recent_orders(fake, shop, [customer], 3)
    done = sync_command(services.stack, fake, "--shop", shop)
    assert done.returncode == 0, done.stderr
    assert f"{shop}: done, 3 orders read, subscriptions repaired: {len(SUBSCRIBED_TOPICS)}" in done.stdout
    assert SHOP_TOKEN not in done.stdout + done.stderr
    await eventually(exactly(redis_client, shop, customer, expected[str(customer)]))

    fake.tokens[shop] = "shpat_revoked"  # the merchant uninstalled in Shopify: the run fails, saying why
    failed = sync_command(services.stack, fake, "--shop", shop)
    assert failed.returncode == 1 and f"{shop}: failed" in failed.stdout
    assert "Traceback" not in failed.stderr


async def test_reconciliation_repairs_a_customer_with_drift_and_counts_what_it_cannot_explain(
    services: Services, ingest: httpx.AsyncClient, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    fake.tokens[shop] = SHOP_TOKEN
    drifted, in_step, beyond = next_id(), next_id(), next_id()
    delivered = {c: order_node(c, "10.00", days=0.001) for c in (drifted, in_step, beyond)}
    lost = order_node(drifted, "25.00", days=40)  # lost long ago: no incremental sync reads it again
    for node in (*delivered.values(), lost):
        add_order(fake, shop, node)
    customers.set_totals(fake, shop, beyond, 4, "99.00")  # orders Shopify holds but does not return
    for customer, node in delivered.items():
        await deliver(ingest, webhook(ORDERS_CREATE, shop, live(node, customer)))
    for customer in delivered:
        await eventually(exactly(redis_client, shop, customer, (1, "10.00", "10.00")))

    async with sync_clients(services.stack, fake, redis_client, sync_reconcile_interval=0.001) as c:
        first = await c.runs.run(shop)
        assert first.drift == {"customers": 3, "found": 2, "repaired": 1, "unexplained": 1}
        await eventually(exactly(redis_client, shop, drifted, (2, "35.00", "35.00")))
        assert await counts(redis_client, shop, beyond) == (1, "10.00", "10.00")  # nothing to replay

        again = await c.runs.run(shop)
        assert again.drift == {"customers": 3, "found": 1, "repaired": 0, "unexplained": 1}
        state = await c.runs.state(shop)
        assert state["last_reconciliation"]["unexplained"] == 1
        assert state["last_success"]["drift"] == again.drift


def naming(client: redis.Redis, shop: str, want: list[int]):
    """A check: the shop's recent notifications name exactly the products `want`, oldest first."""

    async def check() -> bool:
        messages = map(orjson.loads, await recent_messages(client, shop))
        return [int(n["product"]["id"]) for n in messages if n.get("product")] == want

    check.__name__ = f"recent notifications naming {want}"
    return check


async def announced_then_hidden(
    ingest: httpx.AsyncClient, client: redis.Redis, shop: str, customer: int, hide: Any
) -> None:
    """An order of CATALOG[0] is announced; after `hide()` its notification is withdrawn, and a
    later order of it announces nothing (a later order of CATALOG[1], same customer, is the marker)."""
    gone, marker = CATALOG[0], CATALOG[1]
    for entry in (gone, marker):
        await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(entry)))
    await deliver(ingest, webhook(ORDERS_CREATE, shop, order(customer_id=customer, product=gone)))
    await eventually(naming(client, shop, [gone[0]]))

    await hide()
    await eventually(naming(client, shop, []))
    await deliver(ingest, webhook(ORDERS_CREATE, shop, order(customer_id=customer, product=gone)))
    await deliver(ingest, webhook(ORDERS_CREATE, shop, order(customer_id=customer, product=marker)))
    await eventually(naming(client, shop, [marker[0]]))


async def test_a_deleted_products_notifications_are_withdrawn_and_never_shown_again(
    ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    async def delete() -> None:
        await deliver(ingest, webhook(PRODUCTS_DELETE, shop, {"id": CATALOG[0][0]}))

    await announced_then_hidden(ingest, redis_client, shop, next_id(), delete)


async def test_a_product_archived_without_a_webhook_is_withdrawn_by_the_catalog_refresh(
    services: Services, ingest: httpx.AsyncClient, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    fake.tokens[shop] = SHOP_TOKEN
    for product_id, title, handle, _ in CATALOG[:2]:
        products.add_product(fake, shop, product_id, title, handle)

    async def archive() -> None:
        products.set_status(fake, shop, CATALOG[0][0], "ARCHIVED")
        async with sync_clients(services.stack, fake, redis_client) as c:
            outcome = await c.runs.run(shop, full=True)  # a full run refreshes the catalog whenever
        assert (outcome.state, outcome.catalog) == ("done", {"refreshed": 2, "deleted": 0})

    await announced_then_hidden(ingest, redis_client, shop, next_id(), archive)


async def test_a_product_the_shop_comes_to_exclude_is_withdrawn_and_never_shown_again(
    services: Services, ingest: httpx.AsyncClient, fake: FakeShopify, redis_client: redis.Redis, shop: str
) -> None:
    async def exclude() -> None:
        settings = ShopSettings(shop=shop, excluded_products=[str(CATALOG[0][0])])
        async with sync_clients(services.stack, fake, redis_client) as c:
            await c.producer.send(TOPIC_SHOP_SETTINGS, shop_key(shop), settings.model_dump_json().encode())

    await announced_then_hidden(ingest, redis_client, shop, next_id(), exclude)


async def test_the_workers_catalog_refresh_deletes_a_product_shopify_no_longer_has(
    own_stack: Stack, fake: FakeShopify, own_redis: redis.Redis, own_shop: str
) -> None:
    shop = own_shop
    fake.tokens[shop] = SHOP_TOKEN
    kept, gone = CATALOG[0], CATALOG[1]
    products.add_product(fake, shop, kept[0], kept[1], kept[2])
    env = worker_env() | {"SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(), "STOREPULSE_SYNC_TICK_S": "0.5"}
    worker = own_stack.start_service("worker", extra_env=env, name="worker-catalog")
    try:
        wait_ready(worker.port, 90, worker)
        async with sync_clients(own_stack, fake, own_redis, webhooks_from_config=True) as c:
            # Both products reach the catalog by their webhooks; then Shopify deletes one, its
            # products/delete lost.
            for entry in (kept, gone):
                kafka_topic, key = route(PRODUCTS_CREATE, shop, product(entry)) or ("", b"")
                await c.producer.send(
                    kafka_topic,
                    key,
                    envelope_bytes(
                        webhook_id=str(next_id()), topic=PRODUCTS_CREATE, shop=shop, payload=product(entry)
                    ),
                )

            async def refreshed(want: dict[str, int]) -> bool:
                await c.runs.request(shop, full=True)
                success = await eventually(
                    lambda: done_after(c.runs, shop), timeout=60, what="a full run's end"
                )
                return success["catalog"] == want

            # The worker's catalog holds both only once it applied them: ask until its refresh saw them.
            await eventually(lambda: refreshed({"refreshed": 1, "deleted": 1}), timeout=90, every=0.5)
            # Deleted once: the next refresh finds nothing more to delete.
            assert await refreshed({"refreshed": 1, "deleted": 0})
    finally:
        worker.stop()


async def done_after(runs: SyncRuns, shop: str) -> dict[str, Any] | None:
    """The last run's record once it ended and none is queued or running."""
    state = await runs.state(shop)
    return state["last_run"] if state["state"] in ("done", "failed") else None
