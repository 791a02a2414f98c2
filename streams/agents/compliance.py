"""Shopify's compliance topics and shop/redact, from `shopify.shop` (keyed by shop).

customers/redact and customers/data_request concern one customer: they are forwarded to that
customer's partition (`streams.customer-events`), where the customers step deletes or records
what is held. shop/redact reaches every partition of both internal topics, so each table drops
the shop's keys on the partition that owns them, and here every Redis key naming the shop goes.
"""

from __future__ import annotations

import faust
import structlog

from shopify.topics import CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT
from storepulse import redis_keys
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, TOPIC_ORDER_EVENTS, TOPIC_SHOP, item_key
from storepulse.shops import ShopRegistry, token_cipher
from streams.runtime.context import Context
from streams.runtime.rekey import broadcast, forward

log = structlog.get_logger(__name__)


async def forget_shop_in_redis(ctx: Context, shop: str) -> int:
    """Delete every per-shop Redis key (`redis_keys.SHOP_KEYS` and `SHOP_KEY_PATTERNS`)."""
    removed = await ctx.redis.delete(*(key(shop) for key in redis_keys.SHOP_KEYS))
    for pattern in redis_keys.SHOP_KEY_PATTERNS:
        async for key in ctx.redis.scan_iter(match=pattern(shop), count=1000):
            removed += await ctx.redis.delete(key)
    await ShopRegistry(ctx.redis, token_cipher(ctx.settings)).remove(shop)
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
            if envelope is None or not isinstance(envelope.get("shop"), str):
                continue
            topic, shop = envelope.get("topic"), envelope["shop"]
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
