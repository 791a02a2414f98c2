"""POST /beacons on a real ingest process and broker: validated, CORS, rate limited, produced."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
import redis.asyncio as redis

from storepulse.devstack import Stack, wait_ready
from storepulse.redis_keys import widget_seen
from tests.support.kafka import consume_beacons
from tests.support.stack import Services, new_shop_domain

STOREFRONT = {"Origin": "https://shop.example", "Content-Type": "text/plain;charset=UTF-8"}


def beacon(shop: str, kind: str = "page_view", **extra: str) -> bytes:
    return orjson.dumps({"shop": shop, "type": kind, "visitor": uuid.uuid4().hex, **extra})


async def test_beacons_are_validated_and_produced_keyed_by_shop(services: Services, shop: str) -> None:
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:
        views = await client.post("/beacons", content=beacon(shop, product_id="7001"), headers=STOREFRONT)
        click = await client.post(
            "/beacons", content=beacon(shop, "click", notification_id="purchase-abc"), headers=STOREFRONT
        )
        assert views.status_code == click.status_code == 204
        assert views.headers["access-control-allow-origin"] == "*"
        bad = [
            beacon(shop, "purchase"),  # not a beacon type
            beacon("not-a-shop.example.com"),
            orjson.dumps({"shop": shop, "type": "click", "visitor": "short"}),
            orjson.dumps({"shop": shop, "type": "click", "visitor": uuid.uuid4().hex, "email": "a@b.c"}),
            b"not json",
        ]
        for body in bad:
            assert (await client.post("/beacons", content=body, headers=STOREFRONT)).status_code == 400
        too_big = await client.post("/beacons", content=b" " * 2049, headers=STOREFRONT)
        assert too_big.status_code == 413
        unknown = await client.post("/beacons", content=beacon(shop, "purchase"), headers=STOREFRONT)
        assert unknown.json() == {"error": "unknown beacon type"}
        preflight = await client.options(
            "/beacons", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    records = await consume_beacons(services.stack, shop, count=2)
    assert sorted(r["type"] for r in records) == ["click", "page_view"]
    assert {r["product_id"] for r in records} == {"7001", None}
    assert all(r["shop"] == shop and r["received_at"] for r in records)


async def test_a_page_view_marks_the_widget_live_for_the_merchants_app(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    async with httpx.AsyncClient(base_url=services.ingest_url) as http:
        click = await http.post("/beacons", content=beacon(shop, "click"), headers=STOREFRONT)
        assert click.status_code == 204
        assert await redis_client.get(widget_seen(shop)) is None  # only page views tell
        before = time.time()
        view = await http.post("/beacons", content=beacon(shop), headers=STOREFRONT)
        assert view.status_code == 204
    seen = int(await redis_client.get(widget_seen(shop)))
    assert before - 1 <= seen <= time.time()
    assert 0 < await redis_client.ttl(widget_seen(shop)) <= 30 * 86400


async def test_beacons_are_rate_limited_per_ip_and_per_shop(stack: Stack, shop: str) -> None:
    ingest = stack.start_service(
        "ingest",
        extra_env={
            "STOREPULSE_BEACON_RATE_PER_IP": "3/minute",
            "STOREPULSE_BEACON_RATE_PER_SHOP": "5/minute",
        },
        name="ingest-beacon-limits",
    )
    try:
        wait_ready(ingest.port, 60, ingest)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest.port}") as client:

            async def send(ip: str) -> httpx.Response:
                headers = {**STOREFRONT, "X-Forwarded-For": ip}
                return await client.post("/beacons", content=beacon(shop), headers=headers)

            assert [(await send("198.51.100.1")).status_code for _ in range(4)] == [204, 204, 204, 429]
            assert (await send("198.51.100.2")).status_code == 204
            assert (await send("198.51.100.3")).status_code == 204  # the shop's 5th
            limited = await send("198.51.100.4")
            assert limited.status_code == 429 and limited.headers["retry-after"]
    finally:
        ingest.stop()


async def test_the_per_ip_limit_counts_the_address_the_proxy_forwarded_and_no_other_peer_can_set_it(
    stack: Stack, shop: str
) -> None:
    """127.0.0.3 plays nginx (the one trusted peer); 127.0.0.1, which uvicorn would trust by
    default, is any other peer."""
    ingest = stack.start_service(
        "ingest",
        extra_env={
            "STOREPULSE_FORWARDED_ALLOW_IPS": "127.0.0.3/32",
            "STOREPULSE_BEACON_RATE_PER_IP": "2/minute",
        },
        name="ingest-behind-proxy",
    )
    url = f"http://127.0.0.1:{ingest.port}"
    try:
        wait_ready(ingest.port, 60, ingest)
        proxy = httpx.AsyncClient(base_url=url, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.3"))
        other = httpx.AsyncClient(base_url=url)
        async with proxy, other:

            async def send(client: httpx.AsyncClient, forwarded_for: str) -> int:
                headers = {**STOREFRONT, "X-Forwarded-For": forwarded_for}
                return (await client.post("/beacons", content=beacon(shop), headers=headers)).status_code

            # Through the proxy each visitor has a limit of their own.
            assert [await send(proxy, "198.51.100.7") for _ in range(3)] == [204, 204, 429]
            assert await send(proxy, "198.51.100.8") == 204
            # Any other peer is counted by its own address, whatever it claims to forward.
            claimed = ["203.0.113.1", "203.0.113.2", "198.51.100.9"]
            assert [await send(other, ip) for ip in claimed] == [204, 204, 429]
    finally:
        ingest.stop()


async def test_a_shop_that_is_not_installed_gets_404_and_nothing_is_kept(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    stranger = new_shop_domain()
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:
        refused = await client.post("/beacons", content=beacon(stranger, product_id="1"), headers=STOREFRONT)
        assert refused.status_code == 404 and refused.json() == {"error": "unknown shop"}
        marker = await client.post("/beacons", content=beacon(shop, "click"), headers=STOREFRONT)
        assert marker.status_code == 204
    await consume_beacons(services.stack, shop, count=1)
    records = await consume_beacons(services.stack, stranger)
    assert records == []
    assert [k async for k in redis_client.scan_iter(f"*{stranger}*")] == []


async def test_a_resent_beacon_id_is_taken_once(services: Services, shop: str) -> None:
    body = beacon(shop, "impression", notification_id="purchase-abc", id="b" + uuid.uuid4().hex)
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:
        answers = [
            (await client.post("/beacons", content=body, headers=STOREFRONT)).status_code for _ in range(3)
        ]
        # Without an id every copy is taken.
        plain = beacon(shop, "click", notification_id="purchase-abc")
        for _ in range(2):
            assert (await client.post("/beacons", content=plain, headers=STOREFRONT)).status_code == 204
    assert answers == [204, 204, 204]
    records = await consume_beacons(services.stack, shop, count=3)
    assert sorted(r["type"] for r in records) == ["click", "click", "impression"]


async def test_one_address_cannot_push_a_products_viewer_count_above_three(
    services: Services, shop: str
) -> None:
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:

        async def view(address: str, product: str = "4242") -> int:
            headers = {**STOREFRONT, "X-Forwarded-For": address}
            return (
                await client.post("/beacons", content=beacon(shop, product_id=product), headers=headers)
            ).status_code

        assert [await view("198.51.100.40") for _ in range(10)] == [204] * 10
        assert await view("198.51.100.41") == 204  # another address is another viewer
        # Nor the store's visitor count: its three visitors are all an address counts, whatever page.
        assert await view("198.51.100.40", "4343") == 204
        assert await view("198.51.100.42", "4343") == 204  # a later marker on the shop's partition
    records = await consume_beacons(services.stack, shop, count=5)
    viewers = {r["visitor"] for r in records if r["product_id"] == "4242"}
    assert len(records) == 5 and len(viewers) == 4
    assert len([r for r in records if r["product_id"] == "4343"]) == 1
