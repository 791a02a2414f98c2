"""SIGKILL the worker while it folds 30,000 beacons and 2,000 orders: the attributed totals end exact."""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import redis.asyncio as redis

from loadtests.attribution_load import attributed_totals, workload
from loadtests.kafka_feed import produce_records
from storepulse.devstack import Stack, wait_ready
from storepulse.kafka_topics import TOPIC_BEACONS, shop_key
from tests.support.eventually import eventually
from tests.support.kafka import bootstrap, produce_webhooks
from tests.support.stack import worker_env
from tests.support.state import redis_of


@pytest.fixture
async def redis_client(own_stack: Stack) -> AsyncIterator[redis.Redis]:
    async with redis_of(own_stack) as client:
        yield client


def same(got: dict, expected: dict) -> bool:
    return all(Decimal(str(got.get(k, 0))) == Decimal(str(v)) for k, v in expected.items())


async def test_sigkill_mid_fold_leaves_the_attributed_totals_exact(
    own_stack: Stack, redis_client: redis.Redis, shop: str
) -> None:
    load = workload(shop, visitors=3000, impressions=30_000, attributed=2000)
    expected = load.expected()
    # Orders first: many arrive before their visitor's impressions, as they may in production.
    await produce_webhooks(own_stack, [(topic, shop, payload) for topic, payload in load.webhooks])
    await produce_records(
        bootstrap(own_stack),
        ((TOPIC_BEACONS, shop_key(shop), load.beacon_body(b, with_time=True)) for b in load.beacons),
    )
    env = worker_env()  # the restart reuses the app id: same group, same changelogs
    first = own_stack.start_service("worker", extra_env=env, name="worker-attr-crash-1")
    try:
        wait_ready(first.port, 60, first)

        async def midway() -> bool:
            return (await attributed_totals(redis_client, shop)).get("impressions", 0) >= expected[
                "impressions"
            ] * 0.3

        await eventually(midway, timeout=180)
    finally:
        first.kill()
    at_kill = await attributed_totals(redis_client, shop)
    assert not same(at_kill, expected), "the worker finished before it was killed: nothing was tested"

    second = own_stack.start_service("worker", extra_env=env, name="worker-attr-crash-2")
    try:
        wait_ready(second.port, 90, second)

        async def exact() -> bool:
            return same(await attributed_totals(redis_client, shop), expected)

        try:
            await eventually(exact, timeout=240)
        finally:
            print(
                f"killed at {at_kill}; expected {expected}; now {await attributed_totals(redis_client, shop)}"
            )
    finally:
        second.stop()
    # Exactly: not merely at least (a replay counted twice would overshoot and never settle back).
    got = await attributed_totals(redis_client, shop)
    assert {k: Decimal(str(got[k])) for k in expected} == {k: Decimal(str(v)) for k, v in expected.items()}
