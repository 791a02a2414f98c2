"""Rotating the app's API secret changes no notification id: a later redaction still finds them."""

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from loadtests.payloads import CATALOG, customers_redact, next_id, order
from shopify.topics import CUSTOMERS_REDACT, ORDERS_CREATE
from storepulse.devstack import Stack, wait_ready
from storepulse.redis_keys import recent_stream
from tests.support.eventually import eventually
from tests.support.kafka import produce_webhooks
from tests.support.stack import new_shop_domain, worker_env
from tests.support.state import redis_of


@pytest.fixture
async def own_redis(own_stack: Stack) -> AsyncIterator[redis.Redis]:
    async with redis_of(own_stack) as client:
        yield client


async def test_customers_redact_after_a_secret_rotation_withdraws_older_notifications(
    own_stack: Stack, own_redis: redis.Redis
) -> None:
    stack, shop, buyer = own_stack, new_shop_domain(), next_id()
    bought = order(customer_id=buyer, product=CATALOG[0])
    env = worker_env()  # both workers of one group: the second takes over the first one's state
    before = stack.start_service("worker", extra_env={**env, "SHOPIFY_API_SECRET": "first"}, name="worker-s1")
    try:
        wait_ready(before.port, 90, before)
        await produce_webhooks(stack, [(ORDERS_CREATE, shop, bought)])

        async def shown() -> int:
            return await own_redis.xlen(recent_stream(shop))

        await eventually(shown)
    finally:
        before.stop()

    rotated = {**env, "SHOPIFY_API_SECRET": "second,first"}
    after = stack.start_service("worker", extra_env=rotated, name="worker-s2")
    try:
        wait_ready(after.port, 90, after)
        redact = customers_redact(shop, buyer, [bought["id"]])
        await produce_webhooks(stack, [(CUSTOMERS_REDACT, shop, redact)])

        async def withdrawn() -> bool:
            return await own_redis.xlen(recent_stream(shop)) == 0

        await eventually(withdrawn)
    finally:
        after.stop()
