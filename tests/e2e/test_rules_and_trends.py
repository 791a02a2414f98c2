"""Shop settings through the admin API change what storefronts see; trending and viewing
notifications from real orders and beacons. All real processes: ingest, worker, push."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import redis.asyncio as redis
from aiokafka import AIOKafkaProducer

from loadtests.payloads import CATALOG, order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.contracts import Beacon
from storepulse.devstack import Stack
from storepulse.kafka_topics import TOPIC_BEACONS, TOPIC_SHOP_SETTINGS
from tests.conftest import ADMIN_TOKEN, Services, signed_headers
from tests.e2e.test_pipeline import post
from tests.sse import SSEClient, listening

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOODIE, RUNNER, TOTE = CATALOG[0], CATALOG[1], CATALOG[2]


async def put_settings(services: Services, shop: str, **rules: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=services.worker_url, headers=AUTH, timeout=15) as client:
        return await client.put(f"/shops/{shop}/settings", json=rules)


async def buy(services: Services, shop: str, payload: dict[str, Any]) -> None:
    hook = webhook(ORDERS_CREATE, shop, payload)
    assert (await post(services, hook, signed_headers(hook))).status_code == 200


async def produce(
    stack: Stack, topic: str, records: list[tuple[bytes, bytes | None]], gap_s: float = 0.0
) -> None:
    """Produce (key, value) records one at a time, `gap_s` apart."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.env["KAFKA_URL"].removeprefix("kafka://"))
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
            await asyncio.sleep(gap_s)
    finally:
        await producer.stop()


async def view(services: Services, shop: str, product_id: int, visitors: list[str]) -> None:
    """Page-view beacons as ingest produces them (the widget's POST /beacons)."""
    now = datetime.now(UTC)
    beacons = [
        Beacon(shop=shop, type="page_view", visitor=v, product_id=str(product_id), received_at=now)
        for v in visitors
    ]
    await produce(
        services.stack, TOPIC_BEACONS, [(shop.encode(), b.model_dump_json().encode()) for b in beacons]
    )


def of_kind(sse: SSEClient, kind: str) -> list[dict[str, Any]]:
    return [p for p in sse.payloads() if p["kind"] == kind]


async def wait_for_kind(sse: SSEClient, kind: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout):
        while len(of_kind(sse, kind)) < count:
            sse.arrived.clear()
            await sse.arrived.wait()
    return of_kind(sse, kind)


async def test_trending_arrives_once_per_threshold_and_counts_each_order_once(
    services: Services, shop: str
) -> None:
    assert (await put_settings(services, shop, trending_thresholds=[3, 4])).status_code == 200
    orders = [order(product=RUNNER) for _ in range(4)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        for o in orders[:3]:
            await buy(services, shop, o)
        [first] = await wait_for_kind(sse, "trending", 1)
        # Shopify re-delivers: the same orders again must not count, the fourth one must.
        await buy(services, shop, orders[0])
        await buy(services, shop, orders[1])
        await buy(services, shop, orders[3])
        second = (await wait_for_kind(sse, "trending", 2))[1]
        await buy(services, shop, orders[3])
        await wait_for_kind(sse, "purchase", 4)
        await asyncio.sleep(1.0)  # room for a duplicate that must not come
    assert first["message"] == "3 people bought Trail Runner in the last 24 hours"
    assert first["product"]["id"] == str(RUNNER[0]) and first["actor"] is None
    assert second["message"] == "4 people bought Trail Runner in the last 24 hours"
    assert len(of_kind(sse, "trending")) == 2
    assert len(of_kind(sse, "purchase")) == 4


async def test_a_burst_of_orders_for_one_product_announces_each_threshold_once(
    services: Services, shop: str
) -> None:
    """Orders arriving together are folded into the product's count in one batch: every
    threshold is still announced once, with the count at the order that reached it."""
    assert (await put_settings(services, shop, trending_thresholds=[2, 5])).status_code == 200
    orders = [order(product=RUNNER) for _ in range(5)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await asyncio.gather(*(buy(services, shop, o) for o in [*orders, *orders[:2]]))
        await wait_for_kind(sse, "trending", 2)
        await wait_for_kind(sse, "purchase", 5)
        await asyncio.sleep(1.0)  # room for a duplicate that must not come
    messages = sorted(n["message"] for n in of_kind(sse, "trending"))
    assert messages == [
        "2 people bought Trail Runner in the last 24 hours",
        "5 people bought Trail Runner in the last 24 hours",
    ]
    assert len(of_kind(sse, "purchase")) == 5


async def test_page_views_announce_live_viewers_at_most_once_a_minute(services: Services, shop: str) -> None:
    visitors = [uuid.uuid4().hex for _ in range(3)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await view(services, shop, HOODIE[0], visitors[:1])
        await view(services, shop, HOODIE[0], visitors[:2])  # one visitor twice: still two people
        [event] = await wait_for_kind(sse, "viewing", 1)
        await view(services, shop, HOODIE[0], visitors[2:])
        await asyncio.sleep(1.5)  # a third viewer within the minute is not announced again
    assert event["message"] == "2 people are viewing this item now"
    assert event["product"]["id"] == str(HOODIE[0])
    assert len(of_kind(sse, "viewing")) == 1


async def test_settings_change_what_the_storefront_sees(services: Services, shop: str) -> None:
    answer = await put_settings(
        services,
        shop,
        language="de",
        buyer_display="anonymous",
        excluded_products=[str(RUNNER[0])],
        min_order_value="50",
    )
    assert answer.status_code == 200, answer.text
    async with httpx.AsyncClient(base_url=services.worker_url, headers=AUTH) as client:
        stored = (await client.get(f"/shops/{shop}/settings")).json()
    assert stored["language"] == "de" and stored["excluded_products"] == [str(RUNNER[0])]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await buy(services, shop, order(product=RUNNER))  # excluded product
        await buy(services, shop, order(product=TOTE))  # 24.00, under the minimum
        await buy(services, shop, order(product=HOODIE))
        [shown] = await wait_for_kind(sse, "purchase", 1)
        await asyncio.sleep(1.0)  # room for the hidden ones, which must not come
    assert len(sse.events) == 1
    assert shown["lang"] == "de"
    assert shown["message"] == "Jemand hat gerade Cloud Hoodie gekauft"
    assert shown["actor"] is None


async def test_arabic_renders_right_to_left_language(services: Services, shop: str) -> None:
    assert (await put_settings(services, shop, language="ar", buyer_display="city")).status_code == 200
    o = order(product=HOODIE)
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await buy(services, shop, o)
        [shown] = await wait_for_kind(sse, "purchase", 1)
    assert shown["lang"] == "ar"
    assert shown["message"].startswith(f"شخص من {o['shipping_address']['city']}, ")
    assert shown["message"].endswith("اشترى Cloud Hoodie للتو")
    assert shown["actor"]["first_name"] is None
    assert o["customer"]["first_name"] not in shown["message"]


async def test_admin_api_refuses_requests_without_the_bearer_token(services: Services, shop: str) -> None:
    paths = [f"/shops/{shop}/{part}" for part in ("settings", "vips", "segments", "customers/1")]
    async with httpx.AsyncClient(base_url=services.worker_url) as client:
        for path in paths:
            assert (await client.get(path)).status_code == 401
            bad = await client.get(path, headers={"Authorization": "Bearer wrong-token"})
            assert bad.status_code == 401
        refused = await client.put(f"/shops/{shop}/settings", json={"language": "fr"})
        assert refused.status_code == 401
        # Faust's own table pages would bypass the token: they are not served.
        assert (await client.get("/table/customer-metrics/")).status_code == 404
        stored = (await client.get(f"/shops/{shop}/settings", headers=AUTH)).json()
    assert stored["language"] == "en"  # the refused PUT changed nothing; defaults when unset


async def test_invalid_settings_are_refused_with_a_clear_error(services: Services, shop: str) -> None:
    for rules, words in [
        ({"buyer_display": "full_name"}, "buyer_display"),
        ({"trending_thresholds": [0, 5]}, "at least 1"),
        ({"templates": {"en": {"purchase": "{who} bought {order_id}"}}}, "{order_id}"),
        ({"language": "pt"}, "add templates"),
        ({"unknown": 1}, "unknown"),
    ]:
        answer = await put_settings(services, shop, **rules)
        assert answer.status_code == 422
        assert words in answer.text
    async with httpx.AsyncClient(base_url=services.worker_url, headers=AUTH) as client:
        assert (await client.put(f"/shops/{shop}/settings", content=b"{nope")).status_code == 422


async def test_shop_template_overrides_the_built_in_one(services: Services, shop: str) -> None:
    rules = {"templates": {"en": {"purchase": "{who} picked up {product}!"}}, "buyer_display": "anonymous"}
    assert (await put_settings(services, shop, **rules)).status_code == 200
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await buy(services, shop, order(product=TOTE))
        [shown] = await wait_for_kind(sse, "purchase", 1)
    assert shown["message"] == "Someone picked up Canvas Tote!"


async def test_admin_api_reads_customer_metrics_vips_and_segments(services: Services, shop: str) -> None:
    o = order(product=HOODIE)
    customer_id = o["customer"]["id"]
    await buy(services, shop, o)
    client = redis.Redis.from_url(services.stack.env["REDIS_URL"])
    vip = {"tier": "VIP", "orders_count": 3, "total_spent": "90.00", "net_spent": "90.00"}
    big = {**vip, "orders_count": 9, "total_spent": "900.00"}
    await client.hset(redis_keys.vips(shop), mapping={"11": orjson.dumps(vip), "12": orjson.dumps(big)})
    await client.hset(
        redis_keys.segments(shop), mapping={"11": "Champions", "12": "Champions", "13": "At Risk"}
    )
    await client.aclose()
    async with httpx.AsyncClient(base_url=services.worker_url, headers=AUTH) as http:
        for _ in range(200):  # until the worker has counted the order
            metrics = await http.get(f"/shops/{shop}/customers/{customer_id}")
            if metrics.status_code != 404:
                break
            await asyncio.sleep(0.1)
        assert metrics.status_code == 200
        assert metrics.json()["orders_count"] == 1
        assert (await http.get(f"/shops/{shop}/customers/{customer_id + 1}")).status_code == 404
        vips = (await http.get(f"/shops/{shop}/vips")).json()["vips"]
        segments = (await http.get(f"/shops/{shop}/segments")).json()
    assert [v["customer_id"] for v in vips] == ["12", "11"]
    assert vips[0]["tier"] == "VIP" and vips[0]["orders_count"] == 9
    # The worker also files the real buyer under its own segment (streams/agents/customers.py).
    assert segments["segments"]["Champions"] == 2 and segments["segments"]["At Risk"] == 1


async def test_a_tombstone_on_the_settings_topic_restores_the_defaults(services: Services, shop: str) -> None:
    assert (await put_settings(services, shop, language="fr")).status_code == 200
    await produce(services.stack, TOPIC_SHOP_SETTINGS, [(shop.encode(), None)])
    async with httpx.AsyncClient(base_url=services.worker_url, headers=AUTH) as client:
        for _ in range(200):
            stored = (await client.get(f"/shops/{shop}/settings")).json()
            if stored["language"] == "en":
                break
            await asyncio.sleep(0.1)
    assert stored == {**stored, "language": "en", "updated_at": None}
