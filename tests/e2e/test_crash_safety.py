"""SIGKILL the worker in the middle of 10,000 orders: every customer's metrics end exact."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import redis.asyncio as redis

from loadtests.payloads import next_id
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Stack, wait_ready
from storepulse.kafka_topics import TOPIC_ORDERS, item_key, partition_of
from storepulse.redis_keys import notification_channel
from tests.support.eventually import eventually
from tests.support.kafka import partition_count, produce_webhooks
from tests.support.stack import worker_env
from tests.support.state import redis_of, vips

ORDERS = 10_000
CUSTOMERS = 400  # 25 orders each: every one a VIP, so `vips:{shop}` shows all their metrics


def placed(customer: int, total: str, first_name: str = "Ana") -> dict:
    now = datetime.now(UTC).isoformat()
    return {
        "id": next_id(),
        "created_at": now,
        "updated_at": now,
        "total_price": total,
        "currency": "USD",
        "customer": {"id": customer, "first_name": first_name},
        "shipping_address": {"city": "Lyon", "country_code": "FR"},
        "line_items": [{"product_id": 7001, "title": "Cloud Hoodie", "quantity": 1}],
    }


def orders_for(customers: list[int], rng: random.Random) -> list[dict]:
    return [
        placed(customers[i % len(customers)], f"{rng.randint(100, 20000) / 100:.2f}") for i in range(ORDERS)
    ]


async def one_per_partition(stack: Stack, shop: str, customers: list[int]) -> list[int]:
    """A customer of `customers` on each partition of the orders topic."""
    partitions = await partition_count(stack, TOPIC_ORDERS)
    by_partition = {partition_of(item_key(shop, c), partitions): c for c in customers}
    assert len(by_partition) == partitions
    return list(by_partition.values())


# `own_stack` (tests/e2e/conftest.py): 10,000 orders would keep the session's worker busy for minutes.


@pytest.fixture
async def redis_client(own_stack: Stack) -> AsyncIterator[redis.Redis]:
    """The module's own Redis, in place of the session's."""
    async with redis_of(own_stack) as client:
        yield client


async def processed(client, shop: str) -> int:
    return sum(v["orders_count"] for v in (await vips(client, shop)).values())


# Early and late in the stream: what is committed, in flight and buffered differs at each. On
# RocksDB the tables outlive the process on disk (a SIGKILL leaves them ahead of the changelog).
@pytest.mark.parametrize(("store", "kill_at"), [("memory", 0.25), ("memory", 0.6), ("rocksdb", 0.6)])
async def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    own_stack: Stack, redis_client: redis.Redis, shop: str, store: str, kill_at: float, tmp_path: Path
) -> None:
    stack = own_stack
    rng = random.Random(4)
    customers = [next_id() for _ in range(CUSTOMERS)]
    orders = orders_for(customers, rng)
    expected: dict[str, list] = {str(c): [0, Decimal(0)] for c in customers}
    for o in orders:
        e = expected[str(o["customer"]["id"])]
        e[0], e[1] = e[0] + 1, e[1] + Decimal(o["total_price"])

    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(notification_channel(shop))
    published, markers = 0, 0

    async def count_published() -> None:
        nonlocal published, markers
        while True:
            message = await pubsub.get_message(timeout=1.0)
            note = orjson.loads(message["data"]) if message else None
            if note and note["kind"] == "purchase":
                if (note["actor"] or {}).get("first_name") == "Marker":
                    markers += 1
                else:
                    published += 1

    counter = asyncio.create_task(count_published())
    await produce_webhooks(stack, [(ORDERS_CREATE, shop, o) for o in orders])
    # The restart reuses the app id (same group, same changelogs) and the data directory.
    env = {**worker_env(), "STOREPULSE_WORKER_STORE": store, "STOREPULSE_WORKER_DATADIR": str(tmp_path)}
    first = stack.start_service("worker", extra_env=env, name="worker-crash-1")
    try:
        wait_ready(first.port, 60, first)

        async def midway() -> bool:
            return await processed(redis_client, shop) >= ORDERS * kill_at

        await eventually(midway, timeout=120)
    finally:
        first.kill()
    at_kill = await processed(redis_client, shop)
    assert at_kill < ORDERS, "the worker finished before it was killed: nothing was tested"

    second = stack.start_service("worker", extra_env=env, name="worker-crash-2")
    try:
        wait_ready(second.port, 90, second)

        async def exact() -> bool:
            got = await vips(redis_client, shop)
            return len(got) == CUSTOMERS and all(
                (v["orders_count"], Decimal(v["net_spent"])) == tuple(expected[c]) for c, v in got.items()
            )

        try:
            await eventually(exact, timeout=180)
        finally:
            got = await vips(redis_client, shop)
            counted = sum(v["orders_count"] for v in got.values())
            print(f"killed at {at_kill} orders; after restart {len(got)} customers, {counted} orders counted")
        for c, (count, total) in expected.items():
            assert got[c]["orders_count"] == count and got[c]["total_spent"] == str(total)
        # An order more on every partition, after all the others: once each one's notification
        # is out, any duplicate publish (which comes before it on its partition) is too.
        buyers = await one_per_partition(stack, shop, customers)
        await produce_webhooks(stack, [(ORDERS_CREATE, shop, placed(c, "1.00", "Marker")) for c in buyers])
        await eventually(lambda: markers == len(buyers), timeout=60, what="every partition's marker")
    finally:
        second.stop()
        counter.cancel()
        await pubsub.aclose()
    assert published == ORDERS  # one purchase notification per order: none lost, none repeated
