"""Shop settings through the admin API change what storefronts see; trending and viewing
notifications from real orders and beacons. All real processes: ingest, worker, push."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import redis.asyncio as redis

from loadtests.payloads import CATALOG, next_id, order
from storepulse import redis_keys
from storepulse.contracts import Beacon
from storepulse.kafka_topics import TOPIC_BEACONS, TOPIC_SHOP_SETTINGS, item_key, partition_of, shop_key
from storepulse.settings import Settings
from tests.support.eventually import eventually
from tests.support.kafka import produce
from tests.support.sse import SSEClient, listening
from tests.support.stack import ADMIN_AUTH, Services, put_settings
from tests.support.webhooks import buy

HOODIE, RUNNER, TOTE = CATALOG[0], CATALOG[1], CATALOG[2]
Product = tuple[int, str, str, str]


def product_beside(shop: str, product: Product) -> Product:
    """A product of its own whose purchases the trends agent reads from `product`'s partition."""
    partitions = Settings().kafka_partitions  # the worker's: it partitions purchases `{shop}/{product_id}`
    home = partition_of(item_key(shop, product[0]), partitions)
    pid = next(
        i for i in itertools.count(product[0] * 1000) if partition_of(item_key(shop, i), partitions) == home
    )
    return (pid, f"Marker {pid}", f"marker-{pid}", product[3])


async def after_all_of(
    ingest: httpx.AsyncClient, sse: SSEClient, shop: str, orders: list[dict[str, Any]], thresholds: list[int]
) -> None:
    """Wait until everything `orders` (of RUNNER) caused has reached the storefront.

    A marker product is bought once by each of their buyers: each marker order follows its buyer's
    orders on their partition, and its purchase follows theirs on the trends agent's. So once every
    marker purchase and the marker's last threshold are shown, anything those orders caused is too.
    """
    assert len(orders) in thresholds, "the markers' last purchase must reach a threshold to be seen"
    marker = product_beside(shop, RUNNER)
    for o in orders:
        await buy(ingest, shop, order(customer_id=o["customer"]["id"], product=marker))
    await sse.wait_for_kind("purchase", len(orders), product=marker[0])
    await sse.wait_for_kind("trending", sum(t <= len(orders) for t in thresholds), product=marker[0])


async def view(services: Services, shop: str, product_id: int, visitors: list[str]) -> None:
    """Page-view beacons as ingest produces them (the widget's POST /beacons)."""
    now = datetime.now(UTC)
    beacons = [
        Beacon(shop=shop, type="page_view", visitor=v, product_id=str(product_id), received_at=now)
        for v in visitors
    ]
    await produce(
        services.stack, TOPIC_BEACONS, [(shop_key(shop), b.model_dump_json().encode()) for b in beacons]
    )


async def test_trending_arrives_once_per_threshold_and_counts_each_order_once(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    assert (await put_settings(services, shop, trending_thresholds=[3, 4])).status_code == 200
    orders = [order(product=RUNNER) for _ in range(4)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        for o in orders[:3]:
            await buy(ingest, shop, o)
        [first] = await sse.wait_for_kind("trending", 1)
        # Shopify re-delivers: the same orders again must not count, the fourth one must.
        await buy(ingest, shop, orders[0])
        await buy(ingest, shop, orders[1])
        await buy(ingest, shop, orders[3])
        second = (await sse.wait_for_kind("trending", 2))[1]
        await buy(ingest, shop, orders[3])
        await sse.wait_for_kind("purchase", 4)
        await after_all_of(ingest, sse, shop, orders, [3, 4])
    assert first["message"] == "3 people bought Trail Runner in the last 24 hours"
    assert first["product"]["id"] == str(RUNNER[0]) and first["actor"] is None
    assert second["message"] == "4 people bought Trail Runner in the last 24 hours"
    assert len(sse.of_kind("trending", RUNNER[0])) == 2
    assert len(sse.of_kind("purchase", RUNNER[0])) == 4


async def test_a_burst_of_orders_for_one_product_announces_each_threshold_once(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    """Orders arriving together are folded into the product's count in one batch: every
    threshold is still announced once, with the count at the order that reached it."""
    assert (await put_settings(services, shop, trending_thresholds=[2, 5])).status_code == 200
    orders = [order(product=RUNNER) for _ in range(5)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await asyncio.gather(*(buy(ingest, shop, o) for o in [*orders, *orders[:2]]))
        await sse.wait_for_kind("trending", 2)
        await sse.wait_for_kind("purchase", 5)
        await after_all_of(ingest, sse, shop, orders, [2, 5])
    messages = sorted(n["message"] for n in sse.of_kind("trending", RUNNER[0]))
    assert messages == [
        "2 people bought Trail Runner in the last 24 hours",
        "5 people bought Trail Runner in the last 24 hours",
    ]
    assert len(sse.of_kind("purchase", RUNNER[0])) == 5


async def test_page_views_announce_live_viewers_at_most_once_a_minute(services: Services, shop: str) -> None:
    visitors = [uuid.uuid4().hex for _ in range(3)]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await view(services, shop, HOODIE[0], visitors[:1])
        await view(services, shop, HOODIE[0], visitors[:2])  # one visitor twice: still two people
        [event] = await sse.wait_for_kind("viewing", 1)
        await view(services, shop, HOODIE[0], visitors[2:])
        # Another product's viewers, after the third on the shop's one partition: once they are
        # announced, a second announcement of the first product would have come before them.
        await view(services, shop, TOTE[0], [uuid.uuid4().hex for _ in range(2)])
        await sse.wait_for_kind("viewing", 1, product=TOTE[0])
    assert event["message"] == "2 people are viewing this item now"
    assert event["product"]["id"] == str(HOODIE[0])
    assert len(sse.of_kind("viewing", HOODIE[0])) == 1


async def test_settings_change_what_the_storefront_sees(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    answer = await put_settings(
        services,
        shop,
        languages=["de"],
        buyer_display="anonymous",
        excluded_products=[str(RUNNER[0])],
        min_order_value="50",
    )
    assert answer.status_code == 200, answer.text
    async with httpx.AsyncClient(base_url=services.worker_url, headers=ADMIN_AUTH) as client:
        stored = (await client.get(f"/shops/{shop}/settings")).json()
    assert stored["languages"] == ["de"] and stored["excluded_products"] == [str(RUNNER[0])]
    # One buyer, so one partition in order: once the shown order is in, the hidden ones would be.
    c = next_id()
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await buy(ingest, shop, order(customer_id=c, product=RUNNER))  # excluded product
        await buy(ingest, shop, order(customer_id=c, product=TOTE))  # 24.00, under the minimum
        await buy(ingest, shop, order(customer_id=c, product=HOODIE))
        [shown] = await sse.wait_for_kind("purchase", 1, product=HOODIE[0])
    assert len(sse.events) == 1
    assert shown["lang"] == "de"
    assert shown["message"] == "Jemand hat gerade Cloud Hoodie gekauft"
    assert shown["actor"] is None


async def test_each_order_is_told_in_every_enabled_language(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    answer = await put_settings(services, shop, languages=["en", "ja", "ar"], buyer_display="city")
    assert answer.status_code == 200
    o = order(product=HOODIE)
    city = o["shipping_address"]["city"]
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await buy(ingest, shop, o)
        [shown] = await sse.wait_for_kind("purchase", 1)
    assert shown["lang"] == "en" and list(shown["messages"]) == ["en", "ja", "ar"]
    assert shown["messages"]["en"] == {"title": shown["title"], "message": shown["message"]}
    assert shown["message"].startswith(f"Someone in {city}, ")
    ja, ar = shown["messages"]["ja"], shown["messages"]["ar"]
    assert ja["title"] == "購入されました" and ja["message"].startswith(f"{city}, ")
    assert ja["message"].endswith("のお客様がCloud Hoodieを購入しました")
    assert ar["message"].startswith(f"شخص من {city}, ") and ar["message"].endswith("اشترى Cloud Hoodie للتو")
    assert shown["actor"]["first_name"] is None
    assert o["customer"]["first_name"] not in str(shown["messages"])


async def test_admin_api_refuses_requests_without_the_bearer_token(services: Services, shop: str) -> None:
    paths = [f"/shops/{shop}/{part}" for part in ("settings", "vips", "segments", "customers/1")]
    async with httpx.AsyncClient(base_url=services.worker_url) as client:
        for path in paths:
            assert (await client.get(path)).status_code == 401
            bad = await client.get(path, headers={"Authorization": "Bearer wrong-token"})
            assert bad.status_code == 401
        refused = await client.put(f"/shops/{shop}/settings", json={"languages": ["fr"]})
        assert refused.status_code == 401
        # Faust's own table pages would bypass the token: they are not served.
        assert (await client.get("/table/customer-metrics/")).status_code == 404
        stored = (await client.get(f"/shops/{shop}/settings", headers=ADMIN_AUTH)).json()
    assert stored["languages"] == ["en"]  # the refused PUT changed nothing; defaults when unset


async def test_invalid_settings_are_refused_with_a_clear_error(services: Services, shop: str) -> None:
    for rules, words in [
        ({"buyer_display": "full_name"}, "buyer_display"),
        ({"trending_thresholds": [0, 5]}, "at least 1"),
        ({"templates": {"en": {"purchase": "{who} bought {order_id}"}}}, "{order_id}"),
        ({"languages": ["pt"]}, "add templates"),
        ({"languages": ["en"] * 11}, "at most 10"),
        ({"unknown": 1}, "unknown"),
    ]:
        answer = await put_settings(services, shop, **rules)
        assert answer.status_code == 422
        assert words in answer.text
    async with httpx.AsyncClient(base_url=services.worker_url, headers=ADMIN_AUTH) as client:
        assert (await client.put(f"/shops/{shop}/settings", content=b"{nope")).status_code == 422


async def test_shop_template_overrides_the_built_in_one(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    rules = {"templates": {"en": {"purchase": "{who} picked up {product}!"}}, "buyer_display": "anonymous"}
    assert (await put_settings(services, shop, **rules)).status_code == 200
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await buy(ingest, shop, order(product=TOTE))
        [shown] = await sse.wait_for_kind("purchase", 1)
    assert shown["message"] == "Someone picked up Canvas Tote!"


async def test_admin_api_reads_customer_metrics_vips_and_segments(
    services: Services, ingest: httpx.AsyncClient, redis_client: redis.Redis, shop: str
) -> None:
    o = order(product=HOODIE)
    customer_id = o["customer"]["id"]
    await buy(ingest, shop, o)
    vip = {"tier": "VIP", "orders_count": 3, "total_spent": "90.00", "net_spent": "90.00"}
    big = {**vip, "orders_count": 9, "total_spent": "900.00"}
    await redis_client.hset(redis_keys.vips(shop), mapping={"11": orjson.dumps(vip), "12": orjson.dumps(big)})
    await redis_client.hset(
        redis_keys.segments(shop), mapping={"11": "Champions", "12": "Champions", "13": "At Risk"}
    )
    async with httpx.AsyncClient(base_url=services.worker_url, headers=ADMIN_AUTH) as http:

        async def counted() -> httpx.Response | None:
            answer = await http.get(f"/shops/{shop}/customers/{customer_id}")
            return answer if answer.status_code != 404 else None

        metrics = await eventually(counted, timeout=20)  # until the worker has counted the order
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
    assert (await put_settings(services, shop, languages=["fr"])).status_code == 200
    await produce(services.stack, TOPIC_SHOP_SETTINGS, [(shop_key(shop), None)])
    async with httpx.AsyncClient(base_url=services.worker_url, headers=ADMIN_AUTH) as client:

        async def restored() -> dict[str, Any] | None:
            stored = (await client.get(f"/shops/{shop}/settings")).json()
            return stored if stored["languages"] == ["en"] else None

        stored = await eventually(restored, timeout=20)
    assert stored == {**stored, "languages": ["en"], "updated_at": None}
