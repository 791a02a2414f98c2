"""No record stops an agent: one it cannot process goes, with the reason, to `<its topic>.dlq`,
and every other record's effects happen. Bad shop templates never reach a storefront.

The worker here has a Redis of its own: the session's worker (when running) reads the same topics,
and its notifications must not be the ones these tests read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as redis

from ingest.routing import route
from loadtests.kafka_feed import envelope
from loadtests.payloads import CATALOG, next_id, order, product, refund
from shopify.topics import CUSTOMERS_DATA_REQUEST, ORDERS_CREATE, PRODUCTS_CREATE, REFUNDS_CREATE
from storepulse import kafka_topics as topics
from storepulse.contracts import Beacon, ShopSettings
from storepulse.devstack import Child, Stack, start_redis, wait_ready
from storepulse.envelope import ORDER_OWNERS
from storepulse.kafka_topics import dead_letter_topic, item_key, shop_key
from tests.fake_shopify import FakeShopify, running_fake_shopify
from tests.fake_shopify.customers import add_customer, install, tags_of
from tests.support.eventually import eventually
from tests.support.kafka import consume, produce
from tests.support.stack import ADMIN_AUTH, install_shop, new_shop_domain, worker_env
from tests.support.state import data_requests, recent_messages

RUNNER = CATALOG[1]  # (7002, "Trail Runner", "trail-runner", "120.00")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShopify]:
    with running_fake_shopify(install(FakeShopify())) as fake:
        yield fake


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    child = start_redis()
    yield f"redis://127.0.0.1:{child.port}/0"
    child.stop()


@pytest.fixture(scope="module")
def worker(stack: Stack, fake: FakeShopify, redis_url: str) -> Iterator[tuple[Child, str]]:
    """A worker of its own (its app id names its internal topic), writing tags to the fake Shopify."""
    env = {
        **worker_env(),
        "REDIS_URL": redis_url,
        "SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(),
        "STOREPULSE_WRITEBACK_DRY_RUN": "false",
        "STOREPULSE_CONSUMER_AUTO_OFFSET_RESET": "latest",  # this module's records only
    }
    child = stack.start_service("worker", extra_env=env, name="worker-dead-letters")
    wait_ready(child.port, 60, child)
    yield child, env["STOREPULSE_APP_ID"]
    child.stop()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    await c.aclose()


def routed(topic: str, shop: str, payload: dict[str, Any]) -> tuple[str, bytes, bytes]:
    """(Kafka topic, key, value) of a webhook as ingest produces it."""
    kafka_topic, key = route(topic, shop, payload)  # type: ignore[misc]
    return kafka_topic, key, envelope(topic, shop, payload)


async def send(stack: Stack, records: list[tuple[str, bytes, bytes | None]]) -> None:
    """Each (topic, key, value) in order."""
    for topic, key, value in records:
        await produce(stack, topic, [(key, value)])


async def published(client: redis.Redis, shop: str) -> list[dict[str, Any]]:
    return [orjson.loads(message) for message in await recent_messages(client, shop)]


async def settings_applied(worker: Child, shop: str, **expected: Any) -> None:
    async def applied() -> bool:
        async with httpx.AsyncClient(headers=ADMIN_AUTH) as http:
            stored = (await http.get(f"http://127.0.0.1:{worker.port}/shops/{shop}/settings")).json()
        return all(stored[k] == v for k, v in expected.items())

    await eventually(applied)


async def test_a_bad_record_in_each_input_goes_to_its_dead_letter_topic_and_the_rest_goes_on(
    stack: Stack, worker: tuple[Child, str], fake: FakeShopify, redis_url: str, client: redis.Redis, shop: str
) -> None:
    child, app_id = worker
    c, other_shop = next_id(), new_shop_domain()
    fake.tokens[shop] = "shpat_dead_letters"
    await install_shop(stack, shop, fake.tokens[shop], redis_url=redis_url)
    add_customer(fake, shop, c)
    orders = [order(customer_id=c, product=RUNNER) for _ in range(3)]
    # Decodes, then fails deep in the customer metrics: the rest of its batch must still count.
    failing = order(customer_id=c, product=RUNNER) | {"refunds": [{"id": 1, "transactions": 5}]}
    elsewhere = order(product=RUNNER)
    purchases_topic = f"{app_id}-product-purchases"
    renamed = product(RUNNER) | {"title": "Storm Runner"}
    settings = ShopSettings(shop=shop, buyer_display="anonymous", trending_thresholds=[3])
    bad: dict[str, list[tuple[bytes, bytes]]] = {
        topics.TOPIC_PRODUCTS: [(item_key(shop, RUNNER[0]), b"{not json")],
        topics.TOPIC_SHOP_SETTINGS: [(shop_key(shop), orjson.dumps({"shop": shop, "language": 5}))],
        topics.TOPIC_BEACONS: [(shop_key(shop), b"junk")],
        topics.TOPIC_CUSTOMER_CHANGES: [(item_key(shop, c), b"[1, 2]")],
        topics.TOPIC_CUSTOMER_EVENTS: [(item_key(shop, c), b"null")],
        topics.TOPIC_ORDER_EVENTS: [
            (
                item_key(shop, orders[0]["id"]),
                orjson.dumps({"topic": ORDER_OWNERS, "shop": shop, "payload": {"owners": [1]}}),
            )
        ],
        purchases_topic: [(item_key(shop, RUNNER[0]), b"{}")],
        topics.TOPIC_SHOP: [(shop_key(shop), b"]")],
        topics.TOPIC_ORDERS: [(item_key(shop, c), b"\xff\xfe"), routed(ORDERS_CREATE, shop, failing)[1:]],
    }
    first_bad = [(topic, *records[0]) for topic, records in bad.items() if topic != topics.TOPIC_ORDERS]
    await send(stack, [*first_bad, routed(PRODUCTS_CREATE, shop, renamed)])
    await send(stack, [(topics.TOPIC_SHOP_SETTINGS, shop_key(shop), settings.model_dump_json().encode())])
    await settings_applied(child, shop, buyer_display="anonymous", trending_thresholds=[3])
    products_changelog = f"{app_id}-products-changelog"
    [entry] = await consume(stack, products_changelog, key_prefix=item_key(shop, RUNNER[0]), count=1)
    assert entry["title"] == "Storm Runner"  # the catalog went on past its bad record

    viewed = {"shop": shop, "type": "page_view", "product_id": str(RUNNER[0])}
    views = [Beacon(**viewed, visitor=v * 8, received_at=orders[0]["created_at"]) for v in "ab"]
    [bad_order, failing_order] = bad[topics.TOPIC_ORDERS]
    await send(
        stack,
        [
            *((topics.TOPIC_BEACONS, shop_key(shop), b.model_dump_json().encode()) for b in views),
            routed(ORDERS_CREATE, shop, orders[0]),
            (topics.TOPIC_ORDERS, *bad_order),
            routed(ORDERS_CREATE, other_shop, elsewhere),  # another shop's order, in the same batch
            routed(ORDERS_CREATE, shop, orders[1]),
            (topics.TOPIC_ORDERS, *failing_order),
            routed(ORDERS_CREATE, shop, orders[2]),
            routed(REFUNDS_CREATE, shop, refund(orders[0], "5.00")),
            routed(CUSTOMERS_DATA_REQUEST, shop, {"customer": {"id": c}, "data_request": {"id": 77}}),
        ],
    )

    # Every good record's effects: metrics (the refund went through the order index), the VIP
    # tag (through the write-back), notifications of every kind, the data request.
    async def counted() -> dict | None:
        async with httpx.AsyncClient(headers=ADMIN_AUTH) as http:
            answer = await http.get(f"http://127.0.0.1:{child.port}/shops/{shop}/customers/{c}")
        metrics = answer.json() if answer.status_code == 200 else {}
        return metrics if metrics.get("net_spent") == "355.00" else None

    metrics = await eventually(counted)
    assert (metrics["orders_count"], Decimal(metrics["total_spent"])) == (3, Decimal("360.00"))
    assert await eventually(lambda: tags_of(fake, shop, c)) == ["VIP"]
    assert await eventually(lambda: data_requests(client, shop))

    async def all_published() -> list[dict[str, Any]] | None:
        shown = await published(client, shop)
        return shown if len(shown) == 5 else None

    shown = await eventually(all_published)
    assert sorted(n["message"] for n in shown) == sorted(
        [
            "2 people are viewing Storm Runner now",
            *["Someone just bought Storm Runner"] * 3,
            "3 people bought Storm Runner in the last 24 hours",
        ]
    )
    assert [n["kind"] for n in await eventually(lambda: published(client, other_shop))] == ["purchase"]

    # Every bad record in its topic's dead-letter topic, as it came, with the reason.
    reasons = {
        topics.TOPIC_PRODUCTS: ["NotAnEnvelope: not JSON"],
        topics.TOPIC_SHOP_SETTINGS: ["ValidationError"],
        topics.TOPIC_BEACONS: ["ValidationError"],
        topics.TOPIC_CUSTOMER_CHANGES: ["ValueError: not a customer change"],
        topics.TOPIC_CUSTOMER_EVENTS: ["NotAnEnvelope: not a JSON object"],
        topics.TOPIC_ORDER_EVENTS: ["AttributeError"],
        purchases_topic: ["KeyError: 'purchases'"],
        topics.TOPIC_SHOP: ["NotAnEnvelope: not JSON"],
        topics.TOPIC_ORDERS: ["NotAnEnvelope: not JSON", "TypeError: 'int' object is not iterable"],
    }
    for topic, records in bad.items():
        letters = await consume(stack, dead_letter_topic(topic), key_prefix=shop.encode(), count=len(records))
        # Once each: the session's worker (when running) dead-letters them too.
        dead = list({(d["partition"], d["offset"]): d for d in letters}.values())
        assert [d["topic"] for d in dead] == [topic] * len(records)
        assert [d["value"] for d in dead] == [v.decode(errors="backslashreplace") for _, v in records]
        assert all(d["reason"].startswith(r) for d, r in zip(dead, reasons[topic], strict=True)), dead


async def test_a_refused_template_and_one_slipped_into_the_settings_topic_leave_orders_notifying(
    stack: Stack, worker: tuple[Child, str], client: redis.Redis, shop: str
) -> None:
    child, _ = worker
    bare = "without a format spec or conversion"
    refused = [
        ("purchase", "{product:d}", bare),  # crashed the orders agent: Unknown format code 'd'
        ("purchase", "{product!r}", bare),
        ("trending", "{count:>100000}", bare),
        ("viewing", "{product.__class__}", "allowed fields"),
        ("purchase.title", "x" * 201, "longer than 200 characters"),
    ]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{child.port}", headers=ADMIN_AUTH) as http:
        for name, template, reason in refused:
            answer = await http.put(f"/shops/{shop}/settings", json={"templates": {"en": {name: template}}})
            assert (answer.status_code, reason in answer.text) == (422, True), answer.text
        assert (await http.get(f"/shops/{shop}/settings")).json()["templates"] == {}
    # Written straight to the compacted topic, past the admin API's check (or stored before it).
    templates = {"en": {"purchase": "{product:d}", "purchase.title": "Fresh"}}
    slipped = ShopSettings(shop=shop, buyer_display="anonymous", templates=templates)
    await send(stack, [(topics.TOPIC_SHOP_SETTINGS, shop_key(shop), slipped.model_dump_json().encode())])
    await settings_applied(child, shop, templates=templates)
    await send(stack, [routed(ORDERS_CREATE, shop, order(product=RUNNER))])
    [shown] = await eventually(lambda: published(client, shop))
    assert (shown["title"], shown["message"]) == ("Fresh", "Someone just bought Trail Runner")
