"""Shopify's compliance topics and shop/redact, from `shopify.shop` (keyed by shop).

customers/redact and customers/data_request concern one customer: they are forwarded to that
customer's partition (`streams.customer-events`), where the customers step applies
`redact_customer` / `data_request_record` below; a redaction also drops the customer's data
requests. shop/redact leaves nothing of the shop in any table or Redis key:
- it reaches every partition of the topics whose tables are co-partitioned with them
  (`streams.customer-events`: customer metrics; `streams.order-events`: order owners; the
  purchases topic: product trends), so each table drops the shop's keys on the partition that
  owns them;
- product viewers live on the shop's partition of `widget.beacons`, product stock and carts on its
  partitions of `shopify.inventory` and `shopify.carts`: one copy goes to each;
- the `products` global table is written by key (`use_partitioner`): its keys are deleted here;
- `shop.settings` is compacted: a tombstone, which the shop-settings agent also applies;
- the audit log: a copy onto the shop's partition of the audit topic, after the shop's entries;
- here every per-shop Redis key goes.
A customers/redact is recorded in the shop's audit log (Shopify asked, no staff member did),
naming no customer.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import faust
import orjson
import redis.asyncio as redis
import structlog
from faust.types.tables import GlobalTableT

from shopify.topics import CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT
from storepulse import redis_keys
from storepulse.audit import new_entry
from storepulse.envelope import Envelope, decode_envelope
from storepulse.event_keys import EventKeys
from storepulse.kafka_topics import (
    TOPIC_BEACONS,
    TOPIC_CARTS,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_INVENTORY,
    TOPIC_ORDER_EVENTS,
    TOPIC_SHOP,
    item_key,
    shop_key,
)
from streams.domain.customer_state import CustomerState, customer_view
from streams.domain.fields import parse_time
from streams.domain.notifications import notification_id
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.redis_retry import redis_step
from streams.runtime.rekey import broadcast, forward, shop_of_key

log = structlog.get_logger(__name__)


def redact_customer(
    table: MutableMapping[bytes, CustomerState], key: bytes, payload: dict[str, Any]
) -> list[str]:
    """Forget the customer's state; the ids of the orders whose traces must go too."""
    state = table.pop(key, None)
    orders = {str(o) for o in payload.get("orders_to_redact") or ()}
    if state is not None:
        orders |= set(state.orders)
    return sorted(orders)


def data_request_record(
    state: CustomerState | None, customer_id: str, envelope: Envelope, now: datetime
) -> tuple[str, dict[str, Any]]:
    """(hash field, record) of what is held about the customer, for `data-requests:{shop}`."""
    payload = envelope["payload"]
    request = payload.get("data_request")
    request = request if isinstance(request, dict) else {}
    record = {
        "request_id": request.get("id"),
        "customer_id": customer_id,
        "requested_at": envelope.get("triggered_at") or envelope.get("received_at"),
        "recorded_at": now.isoformat(),
        "metrics": customer_view(state) if state else None,
        "order_ids": sorted(state.orders) if state else [],
    }
    return f"{customer_id}:{request.get('id') or envelope.get('webhook_id')}", record


# What an answered data request keeps: whom and when. What was held has been handed over.
ANSWERED_FIELDS = ("request_id", "customer_id", "requested_at", "recorded_at")


async def data_requests_of(client: redis.Redis, shop: str) -> list[dict[str, Any]]:
    """The shop's data requests, oldest first, each with its `id` (its hash field)."""
    held = [
        {"id": field.decode(), **orjson.loads(value)}
        async for field, value in client.hscan_iter(redis_keys.data_requests(shop))
    ]
    return sorted(held, key=lambda r: r.get("recorded_at") or "")


async def mark_answered(client: redis.Redis, shop: str, request: str, now: datetime) -> dict[str, Any] | None:
    """Mark a data request answered, dropping what was held from it; None for an unknown request.

    Optimistic (WATCH): a customers/redact deleting the request meanwhile must not see it put back.
    """
    key = redis_keys.data_requests(shop)

    async def answer(pipe: redis.client.Pipeline) -> dict[str, Any] | None:
        raw = await pipe.hget(key, request)
        if raw is None:
            return None
        held = orjson.loads(raw)
        record = {**{k: held.get(k) for k in ANSWERED_FIELDS}, "answered_at": now.isoformat()}
        pipe.multi()
        pipe.hset(key, request, orjson.dumps(record))
        return record

    return await client.transaction(answer, key, value_from_callable=True)


async def withdraw_notifications(ctx: Context, shop: str, customer_id: str, order_ids: list[str]) -> None:
    """Delete the storefront notifications a redacted customer's sign-up and orders caused."""
    ids = {notification_id(shop, "purchase", o, ctx.id_key) for o in order_ids}
    ids.add(notification_id(shop, "signup", customer_id, ctx.id_key))
    removed = await redis_step(ctx.publisher.withdraw, shop, ids)
    log.info("customer_redacted", shop=shop, notifications_removed=removed)


async def forget_data_requests(client: redis.Redis, shop: str, customer_id: str) -> int:
    """Delete the customer's entries of `data-requests:{shop}` (fields `{customer_id}:{request}`)."""
    key = redis_keys.data_requests(shop)
    prefix = f"{customer_id}:".encode()
    # Filtered here rather than with a MATCH pattern: an id is not escaped for glob syntax.
    fields = [f async for f, _ in client.hscan_iter(key) if f.startswith(prefix)]
    return await client.hdel(key, *fields) if fields else 0


def forget_products(products: GlobalTableT, shop: str) -> int:
    """Delete the shop's products (the table writes each key to its own partition)."""
    doomed = [k for k in list(products.keys()) if shop_of_key(k) == shop.encode()]
    for key in doomed:
        del products[key]
    return len(doomed)


async def forget_shop_in_redis(ctx: Context, shop: str) -> int:
    """Delete every per-shop Redis key (`redis_keys.SHOP_KEYS` and `SHOP_KEY_PATTERNS`), and the
    events-API digests that name the shop (keyed by digest, they are found through its key list)."""
    await EventKeys(ctx.redis).forget(shop)
    removed = await ctx.redis.delete(*(key(shop) for key in redis_keys.SHOP_KEYS))
    for pattern in redis_keys.SHOP_KEY_PATTERNS:
        async for key in ctx.redis.scan_iter(match=pattern(shop), count=1000):
            removed += await ctx.redis.delete(key)
    await ctx.registry.remove(shop)
    return removed


def customer_of(envelope: Envelope) -> str | None:
    customer = envelope["payload"].get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else None
    return str(customer_id) if customer_id is not None else None


def requests_in(batch: EventBatch) -> list[tuple[Envelope, str | None]]:
    """The batch's requests that concern StorePulse, with the customer they name (app/uninstalled
    concerns nothing here, nor a customer request naming no customer)."""
    requests = []
    for event in batch:
        envelope = decode_envelope(event.value)
        customer_id = customer_of(envelope)
        if envelope["topic"] == SHOP_REDACT or (
            envelope["topic"] in (CUSTOMERS_REDACT, CUSTOMERS_DATA_REQUEST) and customer_id is not None
        ):
            requests.append((envelope, customer_id))
    return requests


def redaction_entry(envelope: Envelope) -> bytes:
    """The audit entry of a customers/redact: one per webhook, however often it is delivered. It
    names no customer (a redaction leaves nothing that does), only how many orders went."""
    at = parse_time(envelope.get("triggered_at")) or parse_time(envelope.get("received_at"))
    orders = envelope["payload"].get("orders_to_redact")
    webhook_id = envelope.get("webhook_id")
    entry = new_entry(
        envelope["shop"],
        "customer.redacted",
        details={"orders": len(orders) if isinstance(orders, list) else 0, "webhook_id": webhook_id},
        at=at,
        cause=webhook_id or str(envelope.get("received_at")),
    )
    return entry.model_dump_json().encode()


def register(
    ctx: Context, products: GlobalTableT, settings_topic: faust.TopicT, purchases: str, audit: faust.TopicT
) -> None:
    """`purchases`: the name of the internal topic that feeds product trends; `audit`: the audit log's."""
    app = ctx.app
    partitions = ctx.settings.kafka_partitions
    customer_events = app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)
    # The topics whose tables are co-partitioned with them.
    co_partitioned = [
        customer_events,
        app.topic(TOPIC_ORDER_EVENTS, key_type=bytes, value_type=bytes),
        app.topic(purchases, key_type=bytes, value_type=bytes),
    ]
    beacons = app.topic(TOPIC_BEACONS, key_type=bytes, value_type=bytes)
    inventory = app.topic(TOPIC_INVENTORY, key_type=bytes, value_type=bytes)
    carts = app.topic(TOPIC_CARTS, key_type=bytes, value_type=bytes)

    async def forget_shop(envelope: Envelope) -> None:
        shop = envelope["shop"]
        for topic in co_partitioned:
            await broadcast(topic, envelope, partitions)
        await forward(beacons, shop_key(shop), envelope)
        await forward(inventory, shop_key(shop), envelope)
        await forward(carts, shop_key(shop), envelope)
        await forward(audit, shop_key(shop), envelope)
        await settings_topic.send(key=shop_key(shop), value=None)
        forgotten = forget_products(products, shop)
        removed = await redis_step(forget_shop_in_redis, ctx, shop)
        log.info("shop_redacted", shop=shop, products_removed=forgotten, redis_keys_removed=removed)

    async def carry_out(envelope: Envelope, customer_id: str | None) -> None:
        shop = envelope["shop"]
        if envelope["topic"] == SHOP_REDACT:
            await forget_shop(envelope)
        elif customer_id is not None:
            await forward(customer_events, item_key(shop, customer_id), envelope, customer_id=customer_id)
            if envelope["topic"] == CUSTOMERS_REDACT:
                await audit.send(key=shop_key(shop), value=redaction_entry(envelope))

    @app.agent(app.topic(TOPIC_SHOP, key_type=bytes, value_type=bytes), name="compliance")
    async def compliance(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            for envelope, customer_id in batch.apply(requests_in):
                await carry_out(envelope, customer_id)
