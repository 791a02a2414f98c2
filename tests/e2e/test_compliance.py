"""customers/redact, customers/data_request and shop/redact, end to end through ingest.

After each redaction every table of the worker (read from its changelog), the `shop.settings`
topic and every Redis key are read back (tests/held_data.py): none may still name the subject.
"""

import re
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from loadtests.payloads import (
    CATALOG,
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
from storepulse.kafka_topics import TOPIC_SHOP_SETTINGS
from storepulse.redis_keys import recent_stream
from storepulse.shops import ShopRegistry, token_cipher
from tests.conftest import ADMIN_TOKEN, Services, signed_headers
from tests.customer_state import data_requests, eventually, redis_client, segments, vips
from tests.e2e.test_rules_and_trends import put_settings, view
from tests.held_data import everything, ids_pattern, naming, shop_pattern
from tests.kafka_io import produce

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Where the worker keeps something of a shop that bought, was browsed and has settings.
TABLES = (
    "customer-metrics",
    "order-owners",
    "product-trends",
    "product-viewers",
    "products",
    "shop-settings",
)


@pytest.fixture
async def client(services: Services) -> AsyncIterator:
    c = redis_client(services.stack)
    yield c
    await c.aclose()


async def deliver(services: Services, topic: str, shop: str, payload: dict) -> None:
    hook = webhook(topic, shop, payload)
    async with httpx.AsyncClient(base_url=services.ingest_url) as http:
        answer = await http.post("/webhooks/shopify", content=hook.body, headers=signed_headers(hook))
    assert answer.status_code == 200, answer.text


async def buy(services: Services, client, shop: str, customer_id: int, times: int) -> list[dict]:
    orders = [order(customer_id=customer_id, product=CATALOG[1]) for _ in range(times)]
    for o in orders:
        await deliver(services, ORDERS_CREATE, shop, o)
    return orders


async def recent_messages(client, shop: str) -> list[str]:
    return [fields[b"n"].decode() for _, fields in await client.xrange(recent_stream(shop))]


async def data_request(
    services: Services, client, shop: str, customer_id: int, *, past_ingest: bool = False
) -> dict:
    request_id = next_id()
    payload = customers_data_request(shop, customer_id, request_id)
    if past_ingest:
        await produce(services.stack, [(CUSTOMERS_DATA_REQUEST, shop, payload)])
    else:
        await deliver(services, CUSTOMERS_DATA_REQUEST, shop, payload)

    async def recorded() -> dict | None:
        return (await data_requests(client, shop)).get(f"{customer_id}:{request_id}")

    return await eventually(recorded)


async def held_naming(services: Services, client, pattern: re.Pattern[bytes]) -> dict:
    return naming(await everything(services.stack, services.worker_app_id, client), pattern)


def places(services: Services, found: dict) -> set[str]:
    """Where the entries found are: a table (`{app_id}-{table}-changelog`), a topic, or Redis."""
    changelog = re.compile(re.escape(services.worker_app_id) + r"-(.+)-changelog")
    return {m.group(1) if (m := changelog.fullmatch(place)) else place for place, _ in found}


async def test_customers_redact_removes_metrics_and_their_notifications(
    services: Services, client, shop: str
) -> None:
    gone, stays = next_id(), next_id()
    redacted = await buy(services, client, shop, gone, 3)
    kept = await buy(services, client, shop, stays, 1)

    async def settled() -> bool:
        return str(gone) in await vips(client, shop) and len(await recent_messages(client, shop)) == 4

    await eventually(settled)
    await deliver(services, CUSTOMERS_REDACT, shop, customers_redact(shop, gone, [o["id"] for o in redacted]))

    async def redacted_everywhere() -> bool:
        return (
            str(gone) not in await vips(client, shop)
            and str(gone) not in await segments(client, shop)
            and len(await recent_messages(client, shop)) == 1
        )

    await eventually(redacted_everywhere)
    [left] = await recent_messages(client, shop)
    assert orjson.loads(left)["actor"]["first_name"] == kept[0]["customer"]["first_name"]
    assert set(await segments(client, shop)) == {str(stays)}
    held = await data_request(services, client, shop, gone)
    assert held["metrics"] is None and held["order_ids"] == []


async def test_customers_redact_leaves_nothing_naming_the_customer(
    services: Services, client, shop: str
) -> None:
    gone, stays = next_id(), next_id()
    redacted = await buy(services, client, shop, gone, 3)
    await buy(services, client, shop, stays, 1)
    # A refund that arrives before its order waits in the order index, naming the order.
    early = {"id": next_id(), "order_id": next_id(), "transactions": []}
    await deliver(services, REFUNDS_CREATE, shop, early)
    subject = ids_pattern([gone, *(o["id"] for o in redacted)])

    async def held_everywhere() -> bool:
        found = places(services, await held_naming(services, client, subject))
        return {"customer-metrics", "order-owners", "redis"} <= found

    await eventually(held_everywhere)
    await data_request(services, client, shop, gone)
    orders = [o["id"] for o in redacted] + [early["order_id"]]
    await deliver(services, CUSTOMERS_REDACT, shop, customers_redact(shop, gone, orders))

    async def nothing_left() -> bool:
        left = await held_naming(services, client, ids_pattern([gone, *orders]))
        print("still held:", sorted(left))  # shown when the test fails
        return not left

    await eventually(nothing_left)
    assert await held_naming(services, client, ids_pattern([stays]))  # the other customer is kept


async def test_data_requests_are_listed_with_what_is_held_and_marked_answered(
    services: Services, client, shop: str
) -> None:
    c = next_id()
    orders = await buy(services, client, shop, c, 2)

    async def counted() -> bool:
        return str(c) in await segments(client, shop)

    await eventually(counted)
    await data_request(services, client, shop, c)
    async with httpx.AsyncClient(base_url=services.worker_url, headers=AUTH, timeout=15) as admin:
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
    services: Services, client, shop: str
) -> None:
    c = next_id()
    orders = await buy(services, client, shop, c, 2)

    async def counted() -> bool:
        return str(c) in await segments(client, shop)

    await eventually(counted)
    held = await data_request(services, client, shop, c)
    assert held["customer_id"] == str(c)
    assert held["metrics"]["orders_count"] == 2
    assert sorted(held["order_ids"]) == sorted(str(o["id"]) for o in orders)
    log = (services.stack.log_dir / "worker.log").read_text()
    assert "data_request_recorded" in log
    assert str(c) not in log and "buyer@example.com" not in log


async def test_shop_redact_leaves_nothing_of_the_shop(services: Services, client, shop: str, stack) -> None:
    c, other_shop_customer = next_id(), next_id()
    other_shop = f"my{shop}"  # a domain that contains the redacted one
    await ShopRegistry(client, token_cipher(stack.settings())).install(other_shop, "shpat_other")
    assert (await put_settings(services, shop, language="de")).status_code == 200
    await deliver(services, PRODUCTS_CREATE, shop, product(CATALOG[1]))
    await view(services, shop, CATALOG[1][0], ["visitor-aaaa", "visitor-bbbb"])
    await buy(services, client, shop, c, 3)
    await buy(services, client, other_shop, other_shop_customer, 1)
    await data_request(services, client, shop, c)

    async def held_everywhere() -> bool:
        found = places(services, await held_naming(services, client, shop_pattern(shop)))
        return {*TABLES, TOPIC_SHOP_SETTINGS, "redis"} <= found

    await eventually(held_everywhere)
    await deliver(services, SHOP_REDACT, shop, shop_redact(shop))

    async def nothing_left() -> bool:
        left = await held_naming(services, client, shop_pattern(shop))
        print("still held:", sorted(left))  # shown when the test fails
        return not left

    await eventually(nothing_left)
    # The table forgot the customer too: a later data request (straight to Kafka, as ingest
    # no longer takes webhooks of a redacted shop) finds nothing held.
    held = await data_request(services, client, shop, c, past_ingest=True)
    assert held["metrics"] is None
    assert str(other_shop_customer) in await segments(client, other_shop)
