"""Rotating the app's API secret changes no notification id: a later redaction still finds them."""

from collections.abc import AsyncIterator

import pytest

from loadtests.payloads import CATALOG, customers_redact, next_id, order
from shopify.topics import CUSTOMERS_REDACT, ORDERS_CREATE
from storepulse.devstack import Stack, wait_ready
from storepulse.redis_keys import recent_stream
from tests.conftest import new_shop_domain, worker_env
from tests.customer_state import eventually, redis_client
from tests.kafka_io import produce


@pytest.fixture
async def client(own_stack: Stack) -> AsyncIterator:
    c = redis_client(own_stack)
    yield c
    await c.aclose()


async def test_customers_redact_after_a_secret_rotation_withdraws_older_notifications(
    own_stack: Stack, client
) -> None:
    stack, shop, buyer = own_stack, new_shop_domain(), next_id()
    bought = order(customer_id=buyer, product=CATALOG[0])
    env = worker_env()  # both workers of one group: the second takes over the first one's state
    before = stack.start_service("worker", extra_env={**env, "SHOPIFY_API_SECRET": "first"}, name="worker-s1")
    try:
        wait_ready(before.port, 90, before)
        await produce(stack, [(ORDERS_CREATE, shop, bought)])

        async def shown() -> int:
            return await client.xlen(recent_stream(shop))

        await eventually(shown)
    finally:
        before.stop()

    rotated = {**env, "SHOPIFY_API_SECRET": "second,first"}
    after = stack.start_service("worker", extra_env=rotated, name="worker-s2")
    try:
        wait_ready(after.port, 90, after)
        await produce(stack, [(CUSTOMERS_REDACT, shop, customers_redact(shop, buyer, [bought["id"]]))])

        async def withdrawn() -> bool:
            return await client.xlen(recent_stream(shop)) == 0

        await eventually(withdrawn)
    finally:
        after.stop()
