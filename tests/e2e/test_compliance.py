"""customers/redact, customers/data_request and shop/redact, end to end through ingest."""

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, ORDERS_CREATE, SHOP_REDACT
from storepulse.redis_keys import recent_stream
from storepulse.shops import ShopRegistry, token_cipher
from tests.conftest import Services, signed_headers
from tests.customer_state import data_requests, eventually, redis_client, segments, vips
from tests.kafka_io import produce


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
    payload = {
        "shop_domain": shop,
        "customer": {"id": customer_id, "email": "buyer@example.com", "phone": "+1-555-0100"},
        "orders_requested": [],
        "data_request": {"id": request_id},
    }
    if past_ingest:
        await produce(services.stack, [(CUSTOMERS_DATA_REQUEST, shop, payload)])
    else:
        await deliver(services, CUSTOMERS_DATA_REQUEST, shop, payload)

    async def recorded() -> dict | None:
        return (await data_requests(client, shop)).get(f"{customer_id}:{request_id}")

    return await eventually(recorded)


async def test_customers_redact_removes_metrics_and_their_notifications(
    services: Services, client, shop: str
) -> None:
    gone, stays = next_id(), next_id()
    redacted = await buy(services, client, shop, gone, 3)
    kept = await buy(services, client, shop, stays, 1)

    async def settled() -> bool:
        return str(gone) in await vips(client, shop) and len(await recent_messages(client, shop)) == 4

    await eventually(settled)
    payload = {
        "shop_domain": shop,
        "customer": {"id": gone, "email": "buyer@example.com", "phone": "+1-555-0100"},
        "orders_to_redact": [o["id"] for o in redacted],
    }
    await deliver(services, CUSTOMERS_REDACT, shop, payload)

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


async def test_shop_redact_removes_everything_held_for_the_shop(
    services: Services, client, shop: str, stack
) -> None:
    c, other_shop_customer = next_id(), next_id()
    await buy(services, client, shop, c, 3)
    other_shop = f"my{shop}"  # a domain that contains the redacted one
    await ShopRegistry(client, token_cipher(stack.settings())).install(other_shop, "shpat_other")
    await buy(services, client, other_shop, other_shop_customer, 1)

    async def settled() -> bool:
        return str(c) in await vips(client, shop) and str(other_shop_customer) in await segments(
            client, other_shop
        )

    await eventually(settled)
    await data_request(services, client, shop, c)
    await deliver(services, SHOP_REDACT, shop, {"shop_id": 1, "shop_domain": shop})

    async def all_gone() -> bool:
        return not [k async for k in client.scan_iter(match=f"*{shop}*") if other_shop.encode() not in k]

    await eventually(all_gone)
    # The table forgot the customer too: a later data request (straight to Kafka, as ingest
    # no longer takes webhooks of a redacted shop) finds nothing held.
    held = await data_request(services, client, shop, c, past_ingest=True)
    assert held["metrics"] is None
    assert str(other_shop_customer) in await segments(client, other_shop)
