"""SIGKILL the worker in the middle of 10,000 orders: every customer's metrics end exact."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from loadtests.payloads import next_id
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Stack, wait_ready
from storepulse.redis_keys import notification_channel
from tests.conftest import worker_env
from tests.customer_state import eventually, redis_client, vips
from tests.kafka_io import produce

ORDERS = 10_000
CUSTOMERS = 400  # 25 orders each: every one a VIP, so `vips:{shop}` shows all their metrics


def orders_for(customers: list[int], rng: random.Random) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": next_id(),
            "created_at": now,
            "updated_at": now,
            "total_price": f"{rng.randint(100, 20000) / 100:.2f}",
            "currency": "USD",
            "customer": {"id": customers[i % len(customers)], "first_name": "Ana"},
            "shipping_address": {"city": "Lyon", "country_code": "FR"},
            "line_items": [{"product_id": 7001, "title": "Cloud Hoodie", "quantity": 1}],
        }
        for i in range(ORDERS)
    ]


# `own_stack` (tests/e2e/conftest.py): 10,000 orders would keep the session's worker busy for minutes.
@pytest.fixture
async def client(own_stack: Stack) -> AsyncIterator:
    c = redis_client(own_stack)
    yield c
    await c.aclose()


async def processed(client, shop: str) -> int:
    return sum(v["orders_count"] for v in (await vips(client, shop)).values())


# Early and late in the stream: what is committed, in flight and buffered differs at each.
@pytest.mark.parametrize("kill_at", [0.25, 0.6])
async def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    own_stack: Stack, client, shop: str, kill_at: float
) -> None:
    stack = own_stack
    rng = random.Random(4)
    customers = [next_id() for _ in range(CUSTOMERS)]
    orders = orders_for(customers, rng)
    expected: dict[str, list] = {str(c): [0, Decimal(0)] for c in customers}
    for o in orders:
        e = expected[str(o["customer"]["id"])]
        e[0], e[1] = e[0] + 1, e[1] + Decimal(o["total_price"])

    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(notification_channel(shop))
    published = 0

    async def count_published() -> None:
        nonlocal published
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message and orjson.loads(message["data"])["kind"] == "purchase":
                published += 1

    counter = asyncio.create_task(count_published())
    await produce(stack, [(ORDERS_CREATE, shop, o) for o in orders])
    env = worker_env()  # the restart reuses the app id: same group, same changelogs
    first = stack.start_service("worker", extra_env=env, name="worker-crash-1")
    try:
        wait_ready(first.port, 60, first)

        async def midway() -> bool:
            return await processed(client, shop) >= ORDERS * kill_at

        await eventually(midway, timeout=120)
    finally:
        first.kill()
    at_kill = await processed(client, shop)
    assert at_kill < ORDERS, "the worker finished before it was killed: nothing was tested"

    second = stack.start_service("worker", extra_env=env, name="worker-crash-2")
    try:
        wait_ready(second.port, 90, second)

        async def exact() -> bool:
            got = await vips(client, shop)
            return len(got) == CUSTOMERS and all(
                (v["orders_count"], Decimal(v["net_spent"])) == tuple(expected[c]) for c, v in got.items()
            )

        try:
            await eventually(exact, timeout=180)
        finally:
            got = await vips(client, shop)
            counted = sum(v["orders_count"] for v in got.values())
            print(f"killed at {at_kill} orders; after restart {len(got)} customers, {counted} orders counted")
        for c, (count, total) in expected.items():
            assert got[c]["orders_count"] == count and got[c]["total_spent"] == str(total)
        await asyncio.sleep(2)  # any late duplicate publish would arrive by now
    finally:
        second.stop()
        counter.cancel()
        await pubsub.aclose()
    assert published == ORDERS  # one purchase notification per order: none lost, none repeated
