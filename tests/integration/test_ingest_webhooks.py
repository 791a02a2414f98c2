"""POST /webhooks/shopify in-process against the real broker and Redis: routing, shops, refusals."""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from ingest.app import WEBHOOK_PATH
from ingest.routing import ROUTES, route
from loadtests.payloads import (
    CATALOG,
    CONTACT,
    Webhook,
    cart,
    customer,
    customers_data_request,
    customers_redact,
    inventory_level,
    order,
    product,
    shop_redact,
    shop_resource,
    webhook,
)
from shopify.topics import (
    APP_UNINSTALLED,
    CART_TOPICS,
    CARTS_CREATE,
    CARTS_UPDATE,
    CUSTOMERS_CREATE,
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_DELETE,
    CUSTOMERS_REDACT,
    CUSTOMERS_UPDATE,
    INVENTORY_LEVELS_UPDATE,
    ORDERS_CREATE,
    ORDERS_DELETE,
    ORDERS_PAID,
    PRODUCTS_UPDATE,
    REFUNDS_CREATE,
    SHOP_REDACT,
)
from storepulse.devstack import Stack
from storepulse.kafka_topics import (
    TOPIC_CARTS,
    TOPIC_CUSTOMERS,
    TOPIC_INVENTORY,
    TOPIC_ORDERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    partition_of,
)
from storepulse.shops import ShopRegistry
from tests.support.ingest import in_process_ingest, ingest_settings
from tests.support.kafka import bootstrap, envelopes, of_shop, partition_count, read
from tests.support.metrics import metric
from tests.support.stack import OLD_SECRET, SECRET, new_shop_domain
from tests.support.webhooks import deliver, post

ALL = (TOPIC_ORDERS, TOPIC_CUSTOMERS, TOPIC_PRODUCTS, TOPIC_INVENTORY, TOPIC_CARTS, TOPIC_SHOP)
DROPPED = "storepulse_ingest_webhooks_dropped_total"
REJECTED = "storepulse_ingest_webhooks_rejected_total"
MAX_BYTES = 64 * 1024


@pytest.fixture
async def ingest(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_ingest(ingest_settings(stack, webhook_max_bytes=MAX_BYTES)) as client:
        yield client


def payload_for(topic: str, shop: str) -> dict[str, Any]:
    """A payload shaped like Shopify's for `topic` (the fields keys are made of are real)."""
    if topic == ORDERS_DELETE:
        return {"id": 450789469}
    if topic.startswith("orders/"):
        return order()
    if topic == REFUNDS_CREATE:
        return {"id": 509562969, "order_id": 450789469, "refund_line_items": []}
    if topic in (CUSTOMERS_CREATE, CUSTOMERS_UPDATE, CUSTOMERS_DELETE):
        return customer(customer_id=706405506) | {"first_name": "Ada", "created_at": "2026-11-21T12:00:00Z"}
    if topic.startswith("products/"):
        return product(CATALOG[0])
    if topic == INVENTORY_LEVELS_UPDATE:
        return inventory_level(CATALOG[0][0], 3)
    if topic in (CARTS_CREATE, CARTS_UPDATE):
        return cart([CATALOG[0]], token="cart-token-1")
    return {
        APP_UNINSTALLED: shop_resource(shop),
        SHOP_REDACT: shop_redact(shop),
        CUSTOMERS_REDACT: customers_redact(shop, 706405506, [450789469]),
        CUSTOMERS_DATA_REQUEST: customers_data_request(shop, 706405506, 9999),
    }[topic]


# Topics whose payload ingest cuts down to what the worker reads (ingest/payload_rules.py).
PERSONAL = (
    CUSTOMERS_CREATE,
    CUSTOMERS_UPDATE,
    CUSTOMERS_DELETE,
    CUSTOMERS_REDACT,
    CUSTOMERS_DATA_REQUEST,
    *CART_TOPICS,
)


async def test_every_topic_lands_in_its_kafka_topic_with_its_key(
    ingest: httpx.AsyncClient, stack: Stack, shop: str
) -> None:
    # app/uninstalled last: it ends the installation, and later webhooks would be dropped.
    topics = sorted(ROUTES, key=lambda t: t == APP_UNINSTALLED)
    hooks = {t: webhook(t, shop, payload_for(t, shop)) for t in topics}
    for hook in hooks.values():
        await deliver(ingest, hook)
    records = await read(bootstrap(stack), ALL, lambda rs: len(envelopes(rs, shop)) >= len(hooks))
    # Workers forward some envelopes on (a shop/redact to the stock agent's topic, say): ingest's
    # record of each webhook is the one in the Kafka topic it routes that webhook to.
    landed: dict[str, dict[tuple[str, str], Any]] = defaultdict(dict)
    for r in of_shop(records, shop):
        landed[orjson.loads(r.value)["topic"]][(r.topic, r.key.decode())] = r
    assert set(landed) == set(hooks)

    customer_id = orjson.loads(hooks[ORDERS_CREATE].body)["customer"]["id"]
    expected = {
        ORDERS_CREATE: (TOPIC_ORDERS, f"{shop}/{customer_id}"),
        ORDERS_DELETE: (TOPIC_ORDERS, f"{shop}/450789469"),
        REFUNDS_CREATE: (TOPIC_ORDERS, f"{shop}/450789469"),
        CUSTOMERS_UPDATE: (TOPIC_CUSTOMERS, f"{shop}/706405506"),
        PRODUCTS_UPDATE: (TOPIC_PRODUCTS, f"{shop}/{CATALOG[0][0]}"),
        INVENTORY_LEVELS_UPDATE: (TOPIC_INVENTORY, shop),
        CARTS_UPDATE: (TOPIC_CARTS, shop),
        APP_UNINSTALLED: (TOPIC_SHOP, shop),
        CUSTOMERS_REDACT: (TOPIC_SHOP, shop),
        SHOP_REDACT: (TOPIC_SHOP, shop),
    }
    for topic, (kafka_topic, key) in expected.items():
        assert (kafka_topic, key) in landed[topic], (topic, list(landed[topic]))
    # Every other webhook too is read where ingest routed it, never from a worker's forward of it
    # (products/create's copy in shopify.inventory, say, which may be read first).
    where = {t: route(t, shop, orjson.loads(h.body)) for t, h in hooks.items()}
    assert all(where[t] == (k, key.encode()) for t, (k, key) in expected.items())
    got = {}
    for topic, routed in where.items():
        assert routed is not None, topic
        got[topic] = landed[topic][(routed[0], routed[1].decode())]
    for topic, hook in hooks.items():
        envelope = orjson.loads(got[topic].value)
        assert envelope["webhook_id"] == hook.webhook_id and envelope["event_id"] == hook.event_id
        if topic not in (*PERSONAL, APP_UNINSTALLED):
            assert envelope["payload"] == orjson.loads(hook.body)
        assert envelope["api_version"] == "2026-10"
        assert envelope["triggered_at"] and envelope["received_at"]


async def test_lower_case_headers_and_the_old_secret_are_accepted(
    ingest: httpx.AsyncClient, shop: str
) -> None:
    hook = webhook(ORDERS_CREATE, shop, order())
    lower = {k.lower(): v for k, v in hook.headers(OLD_SECRET).items()}
    assert (await post(ingest, hook, headers=lower)).status_code == 200


async def test_unknown_topic_is_answered_200_counted_and_not_produced(
    ingest: httpx.AsyncClient, stack: Stack, shop: str
) -> None:
    before = await metric(ingest, DROPPED, {"reason": "unknown_topic"})
    await deliver(ingest, webhook("collections/update", shop, {"id": 1}))
    assert await metric(ingest, DROPPED, {"reason": "unknown_topic"}) == before + 1
    # Sent after it through the same producer: once the marker is in, a record of it would be too.
    marker = webhook(ORDERS_CREATE, shop, order())
    await deliver(ingest, marker)
    records = await read(
        bootstrap(stack), ALL, lambda rs: marker.webhook_id in {e["webhook_id"] for e in envelopes(rs, shop)}
    )
    assert not [e for e in envelopes(records, shop) if e["topic"] == "collections/update"]


async def test_webhooks_of_unknown_and_uninstalled_shops_are_dropped_with_200(
    ingest: httpx.AsyncClient, stack: Stack, registry: ShopRegistry, shop: str
) -> None:
    stranger = new_shop_domain()
    before = await metric(ingest, DROPPED, {"reason": "unknown_shop"})
    await deliver(ingest, webhook(ORDERS_CREATE, stranger, order()))
    assert await metric(ingest, DROPPED, {"reason": "unknown_shop"}) == before + 1

    uninstalled = webhook(APP_UNINSTALLED, shop, shop_resource(shop))
    await deliver(ingest, uninstalled)
    assert (await registry.get(shop)).status == "uninstalled"
    assert await registry.access_token(shop) is None

    late_order = webhook(ORDERS_CREATE, shop, order())
    redact = webhook(SHOP_REDACT, shop, shop_redact(shop))
    before = await metric(ingest, DROPPED, {"reason": "uninstalled_shop"})
    await deliver(ingest, late_order)
    assert await metric(ingest, DROPPED, {"reason": "uninstalled_shop"}) == before + 1
    # Compliance topics keep coming after an uninstall (shop/redact 48 h later): still taken.
    await deliver(ingest, redact)
    records = await read(
        bootstrap(stack), ALL, lambda rs: any(e["topic"] == SHOP_REDACT for e in envelopes(rs, shop))
    )
    ids = {e["webhook_id"] for e in envelopes(records, shop)} | {
        e["webhook_id"] for e in envelopes(records, stranger)
    }
    assert uninstalled.webhook_id in ids and redact.webhook_id in ids
    assert late_order.webhook_id not in ids


async def test_personal_data_the_worker_never_reads_stays_out_of_kafka(
    ingest: httpx.AsyncClient, stack: Stack, shop: str
) -> None:
    hooks = {t: webhook(t, shop, payload_for(t, shop)) for t in (*PERSONAL, APP_UNINSTALLED)}
    for hook in hooks.values():  # app/uninstalled last
        await deliver(ingest, hook)
    records = await read(bootstrap(stack), ALL, lambda rs: len(envelopes(rs, shop)) >= len(hooks))
    got = {e["topic"]: e["payload"] for e in envelopes(records, shop)}
    sent = {topic: orjson.loads(hook.body) for topic, hook in hooks.items()}
    assert got == {
        # What a sign-up shows and what tells it from a guest checkout (ingest/payload_rules.py).
        CUSTOMERS_CREATE: {
            "id": 706405506,
            "first_name": "Ada",
            "state": "enabled",
            "created_at": "2026-11-21T12:00:00Z",
            "email_marketing_consent": {"state": "not_subscribed"},
            "default_address": {
                "city": sent[CUSTOMERS_CREATE]["default_address"]["city"],
                "country_code": sent[CUSTOMERS_CREATE]["default_address"]["country_code"],
            },
        },
        CUSTOMERS_UPDATE: {"id": 706405506},
        # Never the shopper's note.
        **{t: {k: sent[t][k] for k in ("id", "token", "updated_at", "line_items")} for t in CART_TOPICS},
        CUSTOMERS_DELETE: {"id": 706405506},
        CUSTOMERS_REDACT: {
            "shop_id": sent[CUSTOMERS_REDACT]["shop_id"],
            "shop_domain": shop,
            "customer": {"id": 706405506},
            "orders_to_redact": [450789469],
        },
        CUSTOMERS_DATA_REQUEST: {
            "shop_id": sent[CUSTOMERS_DATA_REQUEST]["shop_id"],
            "shop_domain": shop,
            "orders_requested": [],
            "customer": {"id": 706405506},
            "data_request": {"id": 9999},
        },
        APP_UNINSTALLED: {"id": sent[APP_UNINSTALLED]["id"], "myshopify_domain": shop},
    }
    held = b"".join(r.value for r in records if shop.encode() in r.value)
    for personal in (*CONTACT.values(), "Secret-Lastname", "Private Street", "Maya"):
        assert personal.encode() not in held


SHOP_FIELD = {
    APP_UNINSTALLED: "myshopify_domain",
    SHOP_REDACT: "shop_domain",
    CUSTOMERS_REDACT: "shop_domain",
    CUSTOMERS_DATA_REQUEST: "shop_domain",
}


@pytest.mark.parametrize("topic", sorted(SHOP_FIELD))
async def test_a_shop_webhook_replayed_for_another_shop_is_refused(
    ingest: httpx.AsyncClient, stack: Stack, registry: ShopRegistry, shop: str, topic: str
) -> None:
    """Shopify signs only the body: a captured shop/redact must not redact the shop in the header."""
    victim = payload_for(topic, shop)
    captured = {**victim, SHOP_FIELD[topic]: new_shop_domain()}
    unnamed = {k: v for k, v in victim.items() if k != SHOP_FIELD[topic]}
    before = await metric(ingest, REJECTED, {"reason": "shop_mismatch"})
    refused = [webhook(topic, shop, payload) for payload in (captured, unnamed)]
    for hook in refused:
        assert (await post(ingest, hook)).status_code == 400
    assert await metric(ingest, REJECTED, {"reason": "shop_mismatch"}) == before + 2
    assert (await registry.get(shop)).installed  # a refused app/uninstalled ended nothing

    # Taken after the refusals, on the same partition (upper case is the same shop): once it is
    # read, anything produced before it would have been.
    marker = webhook(topic, shop, {**victim, SHOP_FIELD[topic]: shop.upper()})
    await deliver(ingest, marker)
    records = await read(
        bootstrap(stack),
        [TOPIC_SHOP],
        lambda rs: marker.webhook_id in {e["webhook_id"] for e in envelopes(rs, shop)},
    )
    produced = {e["webhook_id"] for e in envelopes(records, shop)}
    assert marker.webhook_id in produced and not produced & {h.webhook_id for h in refused}


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


def bad_requests(shop: str) -> Iterator[tuple[str, int, str, Webhook, dict[str, str]]]:
    """(case, expected status, reason, webhook, headers) for each kind of bad input."""
    hook = webhook(ORDERS_CREATE, shop, order())
    good = hook.headers(SECRET)
    yield "no signature", 401, "bad_signature", hook, _without(good, "X-Shopify-Hmac-Sha256")
    yield "wrong secret", 401, "bad_signature", hook, hook.headers(b"wrong")
    redact = webhook(CUSTOMERS_REDACT, shop, customers_redact(shop, 706405506, []))
    yield "compliance, wrong secret", 401, "bad_signature", redact, redact.headers(b"wrong")
    yield "no topic", 400, "missing_header", hook, _without(good, "X-Shopify-Topic")
    yield "no webhook id", 400, "missing_header", hook, _without(good, "X-Shopify-Webhook-Id")
    yield "no shop", 400, "bad_shop_domain", hook, _without(good, "X-Shopify-Shop-Domain")
    evil = {**good, "X-Shopify-Shop-Domain": "evil.example.com"}
    yield "foreign shop domain", 400, "bad_shop_domain", hook, evil
    deep = b'{"id": 1, "x": ' + b'{"a": ' * 300 + b"1" + b"}" * 301  # read by orjson, not written
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe", deep):
        signed = Webhook(ORDERS_CREATE, shop, body, str(uuid.uuid4()), str(uuid.uuid4()))
        yield f"signed but invalid JSON {body!r}", 400, "bad_json", signed, signed.headers(SECRET)


@pytest.mark.parametrize("case", [case[0] for case in bad_requests("x.myshopify.com")])
async def test_bad_input_is_refused_and_counted(ingest: httpx.AsyncClient, shop: str, case: str) -> None:
    _, status, reason, hook, headers = next(c for c in bad_requests(shop) if c[0] == case)
    before = await metric(ingest, REJECTED, {"reason": reason})
    answer = await post(ingest, hook, headers=headers)
    assert answer.status_code == status
    assert await metric(ingest, REJECTED, {"reason": reason}) == before + 1


async def test_oversized_body_is_refused_without_reading_it_all(ingest: httpx.AsyncClient, shop: str) -> None:
    hook = webhook(ORDERS_CREATE, shop, order())
    headers = _without(hook.headers(SECRET), "Content-Length")
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:  # chunked, no Content-Length to go by
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield b" " * 4096

    answer = await ingest.post(WEBHOOK_PATH, content=endless(), headers=headers)
    assert answer.status_code == 413
    assert pulled < 1000 and pulled * 4096 <= MAX_BYTES + 2 * 4096
    declared = {**headers, "Content-Length": str(MAX_BYTES + 1)}
    assert (await ingest.post(WEBHOOK_PATH, content=b"{}", headers=declared)).status_code == 413


async def test_wrong_method_is_405_and_counted(ingest: httpx.AsyncClient) -> None:
    before = await metric(ingest, REJECTED, {"reason": "method_not_allowed"})
    for method in ("GET", "PUT", "DELETE"):
        assert (await ingest.request(method, WEBHOOK_PATH)).status_code == 405
    assert await metric(ingest, REJECTED, {"reason": "method_not_allowed"}) == before + 3


async def test_metrics_count_what_happened(ingest: httpx.AsyncClient, shop: str) -> None:
    received = await metric(ingest, "storepulse_ingest_webhooks_received_total")
    accepted = await metric(ingest, "storepulse_ingest_webhooks_accepted_total", {"topic": ORDERS_PAID})
    duplicates = await metric(ingest, "storepulse_ingest_webhooks_duplicate_total")
    produced = await metric(ingest, "storepulse_ingest_produce_seconds_count")
    hook = webhook(ORDERS_PAID, shop, order())
    await deliver(ingest, hook)
    await deliver(ingest, hook)  # Shopify's redelivery: same webhook id
    assert (await post(ingest, hook, b"wrong")).status_code == 401
    assert await metric(ingest, "storepulse_ingest_webhooks_received_total") == received + 3
    assert await metric(ingest, "storepulse_ingest_webhooks_accepted_total", {"topic": ORDERS_PAID}) == (
        accepted + 2
    )
    assert await metric(ingest, "storepulse_ingest_webhooks_duplicate_total") == duplicates + 1
    assert await metric(ingest, "storepulse_ingest_produce_seconds_count") == produced + 2


async def test_records_land_on_the_partition_streams_expects_for_their_key(
    ingest: httpx.AsyncClient, stack: Stack, shop: str
) -> None:
    """Streams assumes Kafka's default (murmur2) key → partition mapping (streams.runtime.rekey)."""
    hooks = [webhook(ORDERS_CREATE, shop, order()) for _ in range(24)]
    for hook in hooks:
        await deliver(ingest, hook)
    want = {h.webhook_id for h in hooks}
    records = await read(
        bootstrap(stack), [TOPIC_ORDERS], lambda rs: want <= {e["webhook_id"] for e in envelopes(rs, shop)}
    )
    ours = [r for r in of_shop(records, shop) if orjson.loads(r.value)["webhook_id"] in want]
    partitions = await partition_count(stack, TOPIC_ORDERS)
    assert partitions > 1 and len({r.partition for r in ours}) > 1
    assert all(r.partition == partition_of(r.key, partitions) for r in ours)
