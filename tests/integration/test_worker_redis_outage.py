"""Redis gone under the worker: it waits, and once Redis is back every notification and read-model
write of the outage happens exactly once (the worker's own Redis, killed and restarted)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import orjson
import pytest
import redis.asyncio as redis

from loadtests.payloads import next_id, order
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import Child, Stack, start_redis, wait_ready
from streams.domain.notifications import notification_id
from tests.support.eventually import eventually
from tests.support.kafka import produce_webhooks
from tests.support.stack import ADMIN_AUTH, worker_env
from tests.support.state import vips


@pytest.fixture
async def own_redis() -> AsyncIterator[list[Child]]:
    """The worker's Redis, as a list so the test can replace it with its restart."""
    held = [await asyncio.to_thread(start_redis)]
    yield held
    held[-1].stop()


async def counted(worker: Child, shop: str, customer_id: int) -> int:
    """The orders the worker's table holds for the customer (read without Redis)."""
    async with httpx.AsyncClient(headers=ADMIN_AUTH) as http:
        answer = await http.get(f"http://127.0.0.1:{worker.port}/shops/{shop}/customers/{customer_id}")
    return answer.json()["orders_count"] if answer.status_code == 200 else 0


async def test_orders_during_a_redis_outage_notify_once_and_reach_the_read_models_after_it(
    stack: Stack, own_redis: list[Child], shop: str
) -> None:
    port = own_redis[0].port
    env = {
        **worker_env(),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "STOREPULSE_CONSUMER_AUTO_OFFSET_RESET": "latest",  # this test's orders only
    }
    worker = stack.start_service("worker", extra_env=env, name="worker-redis-outage")
    try:
        await asyncio.to_thread(wait_ready, worker.port, 60, worker)
        # "latest" is resolved at the consumer's first fetch, which may come after /ready: an order
        # in the read models before the outage proves the position is taken.
        marker = order(customer_id=next_id())
        await produce_webhooks(stack, [(ORDERS_CREATE, shop, marker)])
        marker_id = notification_id(shop, "purchase", str(marker["id"]), stack.settings().notification_key)
        before = redis.Redis.from_url(env["REDIS_URL"])
        try:

            async def positioned() -> bool:  # and wholly written, so none of it waits for the outage
                entries = await before.xrange(redis_keys.recent_stream(shop))
                notified = any(orjson.loads(fields[b"n"])["id"] == marker_id for _, fields in entries)
                customer = str(marker["customer"]["id"])
                return notified and bool(await before.hexists(redis_keys.segments(shop), customer))

            await eventually(positioned, timeout=60)
        finally:
            await before.aclose()
        vip, other = next_id(), next_id()
        during = [order(customer_id=vip) for _ in range(5)] + [order(customer_id=other)]
        own_redis[0].kill()
        await produce_webhooks(stack, [(ORDERS_CREATE, shop, o) for o in during])

        async def reached_redis_step() -> bool:  # the table holds the batch: it waits to publish
            return await counted(worker, shop, vip) > 0

        await eventually(reached_redis_step)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{worker.port}/ready")).json()["redis"] is False
        own_redis.append(await asyncio.to_thread(start_redis, port))  # empty, on the same port
        await asyncio.to_thread(wait_ready, worker.port, 60, worker)
        after = order(customer_id=vip)
        await produce_webhooks(stack, [(ORDERS_CREATE, shop, after)])

        client = redis.Redis.from_url(env["REDIS_URL"])
        try:
            key = stack.settings().notification_key  # what the worker keys notification ids with
            expected = {notification_id(shop, "purchase", str(o["id"]), key) for o in [*during, after]}

            async def published() -> Counter[str] | None:
                entries = await client.xrange(redis_keys.recent_stream(shop))
                ids = Counter(orjson.loads(fields[b"n"])["id"] for _, fields in entries)
                return ids if set(ids) >= expected else None

            assert await eventually(published) == Counter(expected)  # each once

            async def read_models() -> dict | None:
                got = await vips(client, shop)
                other_seen = await client.hexists(redis_keys.segments(shop), str(other))
                return got if got.get(str(vip), {}).get("orders_count") == 6 and other_seen else None

            got = await eventually(read_models)
            spent = sum(Decimal(o["total_price"]) for o in [*during, after] if o["customer"]["id"] == vip)
            assert list(got) == [str(vip)] and Decimal(got[str(vip)]["total_spent"]) == spent
        finally:
            await client.aclose()
        assert worker.proc.poll() is None
    finally:
        worker.stop()
