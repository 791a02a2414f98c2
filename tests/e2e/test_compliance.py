"""customers/redact, customers/data_request and shop/redact, end to end through ingest."""

import httpx
import orjson
import redis.asyncio as redis

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, ORDERS_CREATE, SHOP_REDACT
from storepulse.devstack import Stack
from tests.support.eventually import eventually
from tests.support.kafka import produce_webhooks
from tests.support.stack import Services, install_shop
from tests.support.state import data_requests, recent_messages, segments, vips
from tests.support.webhooks import deliver


async def buy(ingest: httpx.AsyncClient, shop: str, customer_id: int, times: int) -> list[dict]:
    orders = [order(customer_id=customer_id, product=CATALOG[1]) for _ in range(times)]
    for o in orders:
        await deliver(ingest, webhook(ORDERS_CREATE, shop, o))
    return orders


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
    payload = {
        "shop_domain": shop,
        "customer": {"id": customer_id, "email": "buyer@example.com", "phone": "+1-555-0100"},
        "orders_requested": [],
        "data_request": {"id": request_id},
    }
    if past_ingest:
        await produce_webhooks(services.stack, [(CUSTOMERS_DATA_REQUEST, shop, payload)])
    else:
        await deliver(ingest, webhook(CUSTOMERS_DATA_REQUEST, shop, payload))

    async def recorded() -> dict | None:
        return (await data_requests(client, shop)).get(f"{customer_id}:{request_id}")

    return await eventually(recorded)


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
    payload = {
        "shop_domain": shop,
        "customer": {"id": gone, "email": "buyer@example.com", "phone": "+1-555-0100"},
        "orders_to_redact": [o["id"] for o in redacted],
    }
    await deliver(ingest, webhook(CUSTOMERS_REDACT, shop, payload))

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


async def test_data_request_records_what_is_held_without_logging_it(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    c = next_id()
    orders = await buy(ingest, shop, c, 2)

    async def counted() -> bool:
        return str(c) in await segments(redis_client, shop)

    await eventually(counted)
    held = await data_request(services, ingest, redis_client, shop, c)
    assert held["customer_id"] == str(c)
    assert held["metrics"]["orders_count"] == 2
    assert sorted(held["order_ids"]) == sorted(str(o["id"]) for o in orders)
    log = (services.stack.log_dir / "worker.log").read_text()
    assert "data_request_recorded" in log
    assert str(c) not in log and "buyer@example.com" not in log


async def test_shop_redact_removes_everything_held_for_the_shop(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str, stack: Stack
) -> None:
    c, other_shop_customer = next_id(), next_id()
    await buy(ingest, shop, c, 3)
    other_shop = f"my{shop}"  # a domain that contains the redacted one
    await install_shop(stack.env["REDIS_URL"], other_shop, "shpat_other")
    await buy(ingest, other_shop, other_shop_customer, 1)

    async def settled() -> bool:
        return str(c) in await vips(redis_client, shop) and str(other_shop_customer) in await segments(
            redis_client, other_shop
        )

    await eventually(settled)
    await data_request(services, ingest, redis_client, shop, c)
    await deliver(ingest, webhook(SHOP_REDACT, shop, {"shop_id": 1, "shop_domain": shop}))

    async def all_gone() -> bool:
        return not [
            k async for k in redis_client.scan_iter(match=f"*{shop}*") if other_shop.encode() not in k
        ]

    await eventually(all_gone)
    # The table forgot the customer too: a later data request (straight to Kafka, as ingest
    # no longer takes webhooks of a redacted shop) finds nothing held.
    held = await data_request(services, ingest, redis_client, shop, c, past_ingest=True)
    assert held["metrics"] is None
    assert str(other_shop_customer) in await segments(redis_client, other_shop)
