"""Shopify's compliance topics and shop/redact, from `shopify.shop` (keyed by shop).

customers/redact and customers/data_request concern one customer: they are forwarded to that
customer's partition (`streams.customer-events`), where the customers step applies
`redact_customer` / `data_request_record` below. shop/redact reaches every partition of both
internal topics, so each table drops the shop's keys on the partition that owns them, and here
every per-shop Redis key goes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust
import structlog

from shopify.topics import CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT
from storepulse import redis_keys
from storepulse.envelope import Envelope, decode_envelope
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, TOPIC_ORDER_EVENTS, TOPIC_SHOP, item_key
from streams.domain.customer_metrics import customer_view
from streams.domain.notifications import notification_id
from streams.runtime.context import Context
from streams.runtime.rekey import broadcast, forward

log = structlog.get_logger(__name__)


def redact_customer(table: faust.Table, key: bytes, payload: dict[str, Any]) -> list[str]:
    """Forget the customer's state; the ids of the orders whose traces must go too."""
    state = table.pop(key, None)
    orders = {str(o) for o in payload.get("orders_to_redact") or ()}
    if state is not None:
        orders |= set(state["orders"])
    return sorted(orders)


def data_request_record(
    state: dict[str, Any] | None, customer_id: str, envelope: Envelope, now: datetime
) -> tuple[str, dict[str, Any]]:
    """(hash field, record) of what is held about the customer, for `data-requests:{shop}`."""
    payload = envelope["payload"]
    request = payload.get("data_request") if isinstance(payload.get("data_request"), dict) else {}
    record = {
        "request_id": request.get("id"),
        "customer_id": customer_id,
        "requested_at": envelope.get("triggered_at") or envelope.get("received_at"),
        "recorded_at": now.isoformat(),
        "metrics": customer_view(state) if state else None,
        "order_ids": sorted(state["orders"]) if state else [],
    }
    return f"{customer_id}:{request.get('id') or envelope.get('webhook_id')}", record


async def withdraw_notifications(ctx: Context, shop: str, order_ids: list[str]) -> None:
    """Delete the storefront notifications a redacted customer's orders caused."""
    ids = {notification_id(shop, "purchase", o, ctx.id_key) for o in order_ids}
    removed = await ctx.publisher.withdraw(shop, ids)
    log.info("customer_redacted", shop=shop, notifications_removed=removed)


async def forget_shop_in_redis(ctx: Context, shop: str) -> int:
    """Delete every per-shop Redis key (`redis_keys.SHOP_KEYS` and `SHOP_KEY_PATTERNS`)."""
    removed = await ctx.redis.delete(*(key(shop) for key in redis_keys.SHOP_KEYS))
    for pattern in redis_keys.SHOP_KEY_PATTERNS:
        async for key in ctx.redis.scan_iter(match=pattern(shop), count=1000):
            removed += await ctx.redis.delete(key)
    await ctx.registry.remove(shop)
    return removed


def register(ctx: Context) -> None:
    app = ctx.app
    partitions = ctx.settings.kafka_partitions
    customer_events = app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)
    order_events = app.topic(TOPIC_ORDER_EVENTS, key_type=bytes, value_type=bytes)

    @app.agent(app.topic(TOPIC_SHOP, key_type=bytes, value_type=bytes), name="compliance")
    async def compliance(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            envelope = decode_envelope(value)
            if envelope is None:
                continue
            topic, shop = envelope["topic"], envelope["shop"]
            if topic in (CUSTOMERS_REDACT, CUSTOMERS_DATA_REQUEST):
                customer = envelope["payload"].get("customer")
                customer_id = customer.get("id") if isinstance(customer, dict) else None
                if customer_id is not None:
                    key = item_key(shop, str(customer_id))
                    await forward(customer_events, key, envelope, customer_id=str(customer_id))
            elif topic == SHOP_REDACT:
                await broadcast(customer_events, envelope, partitions)
                await broadcast(order_events, envelope, partitions)
                removed = await forget_shop_in_redis(ctx, shop)
                log.info("shop_redacted", shop=shop, redis_keys_removed=removed)
