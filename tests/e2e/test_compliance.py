"""customers/redact, customers/data_request and shop/redact, end to end through ingest.

After each redaction every table of the worker (read from its changelog), the `shop.settings`
topic and every Redis key are read back (tests/support/held.py): none may still name the subject.
"""

import re
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import redis.asyncio as redis

from loadtests.payloads import (
    CATALOG,
    beacon,
    customers_data_request,
    customers_redact,
    next_id,
    order,
    product,
    shop_redact,
    webhook,
)
from shopify.topics import (
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_REDACT,
    ORDERS_CREATE,
    PRODUCTS_CREATE,
    REFUNDS_CREATE,
    SHOP_REDACT,
)
from storepulse.devstack import Stack
from storepulse.kafka_topics import TOPIC_SHOP_SETTINGS
from tests.support.eventually import eventually
from tests.support.held import everything, ids_pattern, naming, places, shop_pattern
from tests.support.kafka import produce_webhooks
from tests.support.stack import ADMIN_AUTH, Services, install_shop
from tests.support.state import audit_entries, data_requests, recent_messages, segments, vips
from tests.support.webhooks import deliver

# Where the worker keeps something of a shop that sold, was browsed and has settings.
TABLES = (
    "customer-metrics",
    "order-owners",
    "product-trends",
    "product-viewers",
    "products",
    "shop-settings",
    "shop-visitors",
)


@pytest.fixture
async def admin(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services.worker_url, headers=ADMIN_AUTH, timeout=15) as client:
        yield client


async def buy(ingest: httpx.AsyncClient, shop: str, customer_id: int, times: int) -> list[dict]:
    orders = [order(customer_id=customer_id, product=CATALOG[1]) for _ in range(times)]
    for o in orders:
        await deliver(ingest, webhook(ORDERS_CREATE, shop, o))
    return orders


async def counted_customer(
    ingest: httpx.AsyncClient, client: redis.Redis, shop: str
) -> tuple[int, list[dict]]:
    """A new customer with two orders, once the worker has counted them."""
    c = next_id()
    orders = await buy(ingest, shop, c, 2)

    async def counted() -> bool:
        return str(c) in await segments(client, shop)

    await eventually(counted)
    return c, orders


async def data_request(
    services: Services,
    ingest: httpx.AsyncClient,
    client: redis.Redis,
    shop: str,
    customer_id: int,
    *,
    past_ingest: bool = False,
) -> dict:
    request_id = next_id()
    payload = customers_data_request(shop, customer_id, request_id)
    if past_ingest:
        await produce_webhooks(services.stack, [(CUSTOMERS_DATA_REQUEST, shop, payload)])
    else:
        await deliver(ingest, webhook(CUSTOMERS_DATA_REQUEST, shop, payload))

    async def recorded() -> dict | None:
        return (await data_requests(client, shop)).get(f"{customer_id}:{request_id}")

    return await eventually(recorded)


async def held_naming(services: Services, client: redis.Redis, pattern: re.Pattern[bytes]) -> dict:
    return naming(await everything(services.stack, services.worker_app_id, client), pattern)


async def nothing_left(services: Services, client: redis.Redis, pattern: re.Pattern[bytes]) -> None:
    """Wait until no table, topic or Redis key names what `pattern` finds."""

    async def gone() -> bool:
        left = await held_naming(services, client, pattern)
        print("still held:", sorted(left))  # shown when the test fails
        return not left

    await eventually(gone)


async def test_customers_redact_removes_metrics_and_their_notifications(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    gone, stays = next_id(), next_id()
    redacted = await buy(ingest, shop, gone, 3)
    kept = await buy(ingest, shop, stays, 1)

    async def settled() -> bool:
        return (
            str(gone) in await vips(redis_client, shop)
            and len(await recent_messages(redis_client, shop)) == 4
        )

    await eventually(settled)
    await deliver(
        ingest, webhook(CUSTOMERS_REDACT, shop, customers_redact(shop, gone, [o["id"] for o in redacted]))
    )

    async def redacted_everywhere() -> bool:
        return (
            str(gone) not in await vips(redis_client, shop)
            and str(gone) not in await segments(redis_client, shop)
            and len(await recent_messages(redis_client, shop)) == 1
        )

    await eventually(redacted_everywhere)
    [left] = await recent_messages(redis_client, shop)
    assert orjson.loads(left)["actor"]["first_name"] == kept[0]["customer"]["first_name"]
    assert set(await segments(redis_client, shop)) == {str(stays)}
    held = await data_request(services, ingest, redis_client, shop, gone)
    assert held["metrics"] is None and held["order_ids"] == []


async def test_customers_redact_leaves_nothing_naming_the_customer(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    gone, stays = next_id(), next_id()
    redacted = await buy(ingest, shop, gone, 3)
    await buy(ingest, shop, stays, 1)
    # A refund that arrives before its order waits in the order index, naming the order.
    early = {"id": next_id(), "order_id": next_id(), "transactions": []}
    await deliver(ingest, webhook(REFUNDS_CREATE, shop, early))
    orders = [*(o["id"] for o in redacted), early["order_id"]]
    subject = ids_pattern([gone, *orders])

    async def held_everywhere() -> bool:
        found = places(await held_naming(services, redis_client, subject), services.worker_app_id)
        return {"customer-metrics", "order-owners", "redis"} <= found

    await eventually(held_everywhere)
    await data_request(services, ingest, redis_client, shop, gone)
    await deliver(ingest, webhook(CUSTOMERS_REDACT, shop, customers_redact(shop, gone, orders)))

    await nothing_left(services, redis_client, subject)
    assert await held_naming(services, redis_client, ids_pattern([stays]))  # the other customer is kept
    # Recorded in the shop's audit log, as Shopify's request (no staff member), naming no one.
    [entry] = await eventually(lambda: audit_entries(redis_client, shop))
    assert (entry["action"], entry["user_id"], entry["details"]["orders"]) == ("customer.redacted", None, 4)


async def test_data_requests_are_listed_with_what_is_held_and_marked_answered(
    services: Services,
    ingest: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    redis_client: redis.Redis,
    shop: str,
) -> None:
    c, orders = await counted_customer(ingest, redis_client, shop)
    await data_request(services, ingest, redis_client, shop, c)
    [listed] = (await admin.get(f"/shops/{shop}/data-requests")).json()["data_requests"]
    assert listed["customer_id"] == str(c) and listed["metrics"]["orders_count"] == 2
    assert sorted(listed["order_ids"]) == sorted(str(o["id"]) for o in orders)
    assert listed.get("answered_at") is None

    answered = await admin.post(f"/shops/{shop}/data-requests/{listed['id']}/answered")
    assert answered.status_code == 200
    [after] = (await admin.get(f"/shops/{shop}/data-requests")).json()["data_requests"]
    assert after == answered.json() and after["answered_at"]
    assert "metrics" not in after and "order_ids" not in after  # handed over: not kept
    assert after["customer_id"] == str(c) and after["request_id"] == listed["request_id"]

    unknown = await admin.post(f"/shops/{shop}/data-requests/{c}:{next_id()}/answered")
    assert unknown.status_code == 404
    assert (await admin.get(f"/shops/{shop}/data-requests")).json()["data_requests"] == [after]


async def test_data_request_records_what_is_held_without_logging_it(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    c, orders = await counted_customer(ingest, redis_client, shop)
    held = await data_request(services, ingest, redis_client, shop, c)
    assert held["customer_id"] == str(c)
    assert held["metrics"]["orders_count"] == 2
    assert sorted(held["order_ids"]) == sorted(str(o["id"]) for o in orders)
    log = (services.stack.log_dir / "worker.log").read_text()
    assert "data_request_recorded" in log
    assert str(c) not in log and "buyer@example.com" not in log


async def test_shop_redact_leaves_nothing_of_the_shop(
    services: Services,
    ingest: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    redis_client: redis.Redis,
    shop: str,
    stack: Stack,
) -> None:
    c, other_shop_customer = next_id(), next_id()
    other_shop = f"my{shop}"  # a domain that contains the redacted one
    await install_shop(stack, other_shop, "shpat_other")
    assert (await admin.put(f"/shops/{shop}/settings", json={"languages": ["de"]})).status_code == 200
    await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(CATALOG[1])))
    for visitor in ("visitor-aaaa", "visitor-bbbb"):
        seen = orjson.dumps(beacon(shop, "page_view", visitor, str(CATALOG[1][0])))
        assert (await ingest.post("/beacons", content=seen)).status_code == 204
    await buy(ingest, shop, c, 3)
    await buy(ingest, other_shop, other_shop_customer, 1)
    await data_request(services, ingest, redis_client, shop, c)
    # The shop's audit log has an entry (a redaction of someone else): shop/redact removes the log.
    await deliver(ingest, webhook(CUSTOMERS_REDACT, shop, customers_redact(shop, next_id(), [])))
    await eventually(lambda: audit_entries(redis_client, shop))

    async def held_everywhere() -> bool:
        found = places(await held_naming(services, redis_client, shop_pattern(shop)), services.worker_app_id)
        return {*TABLES, TOPIC_SHOP_SETTINGS, "redis"} <= found

    await eventually(held_everywhere)
    await deliver(ingest, webhook(SHOP_REDACT, shop, shop_redact(shop)))

    await nothing_left(services, redis_client, shop_pattern(shop))
    # The table forgot the customer too: a later data request (straight to Kafka, as ingest
    # no longer takes webhooks of a redacted shop) finds nothing held.
    held = await data_request(services, ingest, redis_client, shop, c, past_ingest=True)
    assert held["metrics"] is None
    assert str(other_shop_customer) in await segments(redis_client, other_shop)
