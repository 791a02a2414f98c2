"""Signed webhook → ingest → Kafka → worker → Redis → push → SSE, all real processes."""

import time

import httpx
import orjson

from loadtests.payloads import CATALOG, order, product, webhook
from shopify.topics import ORDERS_CREATE, PRODUCTS_CREATE
from tests.support.sse import listening
from tests.support.stack import OLD_SECRET, SECRET, Services
from tests.support.webhooks import deliver, post

FORBIDDEN_KEYS = {"email", "last_name", "phone", "address1", "order_id", "customer_id"}


def _walk_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _walk_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _walk_keys(v)}
    return set()


async def test_signed_order_reaches_the_storefront(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(CATALOG[0])))
    o = order(product=CATALOG[0])
    hook = webhook(ORDERS_CREATE, shop, o)
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        sent = time.monotonic()
        await deliver(ingest, hook)
        [event] = await sse.wait_for(1, timeout=10)
        latency = time.monotonic() - sent
    data = orjson.loads(event.data)
    assert event.id == data["event_id"]
    assert data["kind"] == "purchase" and data["shop"] == shop
    assert data["actor"] == {
        "first_name": o["customer"]["first_name"],
        "city": o["shipping_address"]["city"],
        "country_code": o["shipping_address"]["country_code"],
    }
    assert data["product"]["title"] == "Cloud Hoodie"
    assert not _walk_keys(data) & FORBIDDEN_KEYS
    for secret in (
        "buyer@example.com",
        "Secret-Lastname",
        "Private Street",
        str(o["id"]),
        str(o["customer"]["id"]),
    ):
        assert secret not in event.data
    assert latency < 2.0, f"webhook→SSE took {latency:.2f}s"


async def test_old_secret_still_accepted_during_rotation(ingest: httpx.AsyncClient, shop: str) -> None:
    hook = webhook(ORDERS_CREATE, shop, order())
    assert (await post(ingest, hook, OLD_SECRET)).status_code == 200


async def test_unsigned_or_badly_signed_webhooks_are_refused_and_produce_nothing(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    o = order(product=CATALOG[0])
    hook = webhook(ORDERS_CREATE, shop, o)
    unsigned = {k: v for k, v in hook.headers(SECRET).items() if k != "X-Shopify-Hmac-Sha256"}
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        assert (await post(ingest, hook, b"wrong-secret")).status_code == 401
        assert (await post(ingest, hook, headers=unsigned)).status_code == 401
        # A good webhook sent afterwards by the same customer (so the same partition, in order)
        # proves the pipeline was live while the bad ones were refused: once it is in, anything
        # of theirs would be too, so it must be the only event to arrive.
        good = webhook(ORDERS_CREATE, shop, order(customer_id=o["customer"]["id"], product=CATALOG[1]))
        await deliver(ingest, good)
        await sse.wait_for_kind("purchase", 1, timeout=10, product=CATALOG[1][0])
    assert len(sse.events) == 1
    assert (
        orjson.loads(sse.events[0].data)["actor"]["first_name"]
        == (orjson.loads(good.body)["customer"]["first_name"])
    )


async def test_every_service_reports_health_and_readiness(services: Services) -> None:
    async with httpx.AsyncClient() as client:
        for url in (services.ingest_url, services.worker_url, services.push_url):
            assert (await client.get(f"{url}/health")).status_code == 200
            ready = await client.get(f"{url}/ready")
            assert ready.status_code == 200 and ready.json()["ready"] is True
