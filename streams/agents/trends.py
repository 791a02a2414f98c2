"""Product trends: purchases per product over 24 hours → "N people bought this" notifications.

Orders arrive keyed `{shop}/{customer}`; counting per product needs every purchase of a
product in one place, so the orders agent (the one reader of `shopify.orders`) re-keys each new
order's products to an internal topic partitioned by `{shop}/{product_id}` through
`Purchases.send` (one record per batch and partition, holding that partition's purchases), and
the `product-trends` table (changelog-backed) is partitioned the same way. The window counts
each order by a keyed digest of its id, so the table names no order: a redacted customer's
orders leave nothing there that points at them. shop/redact reaches every partition of the
topic (streams/agents/compliance.py) and drops the shop's products there.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import redis.asyncio as redis
from faust.types import EventT
from faust.types.tables import GlobalTableT

from shopify.topics import ORDERS_CREATE, SHOP_REDACT
from storepulse import redis_keys
from storepulse.contracts import Notification
from storepulse.envelope import Envelope
from storepulse.kafka_topics import item_key, partition_of
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain.fields import parse_time
from streams.domain.notifications import product_activity_notification
from streams.domain.windows import PURCHASE_WINDOW_S, record_purchase
from streams.runtime.batches import State, fold_per_batch
from streams.runtime.context import Context
from streams.runtime.redis_retry import redis_step


def order_pseudonym(order_id: str, key: bytes) -> str:
    """What the window counts an order by: stable, so a re-delivery is still counted once."""
    return hashlib.blake2b(order_id.encode(), key=key[:64], digest_size=12, person=b"trend-order").hexdigest()


def product_purchases(envelope: Envelope, id_key: bytes) -> list[tuple[bytes, dict[str, Any]]]:
    """One (key, purchase) per distinct product of a new order, keyed `{shop}/{product_id}`."""
    if envelope["topic"] != ORDERS_CREATE or envelope["payload"].get("id") is None:
        return []
    shop, order = envelope["shop"], envelope["payload"]
    at = parse_time(order.get("created_at")) or parse_time(envelope.get("received_at"))
    purchases: dict[str, dict[str, Any]] = {}
    items = order.get("line_items")
    for item in items if isinstance(items, list) else []:
        product_id = item.get("product_id") if isinstance(item, dict) else None
        if product_id is None or str(product_id) in purchases:
            continue
        purchases[str(product_id)] = {
            "shop": shop,
            "product_id": str(product_id),
            "order": order_pseudonym(str(order["id"]), id_key),
            "at": (at or datetime.now(UTC)).timestamp(),
            # A title that is no string would fail the whole record, other orders' purchases too.
            "title": item["title"] if isinstance(item.get("title"), str) else None,
            "webhook_id": envelope.get("webhook_id"),
        }
    return [(item_key(shop, pid), purchase) for pid, purchase in purchases.items()]


async def record_sold(client: redis.Redis, purchases: list[dict[str, Any]]) -> None:
    """Add purchases to their products' `sold` sets, the sold counter's read model (push counts
    them): by the same order digest as the trends window, so a re-delivered order is counted once
    and the set names no order. Entries past the 24 hours are trimmed on the product's next sale;
    the set expires a window after its last."""
    if not purchases:
        return
    cutoff = datetime.now(UTC).timestamp() - PURCHASE_WINDOW_S
    async with client.pipeline(transaction=False) as pipe:
        for p in purchases:
            key = redis_keys.sold(p["shop"], p["product_id"])
            pipe.zadd(key, {p["order"]: p["at"]})
            pipe.zremrangebyscore(key, "-inf", cutoff)
            pipe.expire(key, PURCHASE_WINDOW_S)
        await pipe.execute()


class Purchases:
    """The internal topic of purchases partitioned by product, and the products' `sold` sets."""

    def __init__(self, topic: faust.TopicT, partitions: int, id_key: bytes, client: redis.Redis) -> None:
        self.topic = topic
        self._partitions = partitions
        self._id_key = id_key
        self._redis = client

    async def send(self, envelopes: list[Envelope]) -> None:
        """Re-key a batch's new orders' products (other records have none): one record per partition."""
        bundles: dict[int, tuple[bytes, list[dict[str, Any]]]] = {}
        for envelope in envelopes:
            for key, purchase in product_purchases(envelope, self._id_key):
                # Keyed by its first product: every product in it hashes to the same partition.
                bundles.setdefault(partition_of(key, self._partitions), (key, []))[1].append(purchase)
        # Before the topic: a crash in between replays the batch, and ZADD of the same digest is a no-op.
        await redis_step(record_sold, self._redis, [p for _, ps in bundles.values() for p in ps])
        for key, purchases in bundles.values():
            await self.topic.send(key=key, value=orjson.dumps({"purchases": purchases}))


def purchases_in(event: EventT) -> list[tuple[bytes, dict[str, Any]]]:
    return [(item_key(p["shop"], p["product_id"]), p) for p in orjson.loads(event.value)["purchases"]]


def redacted_shop(event: EventT) -> str | None:
    """The shop of a shop/redact the compliance agent sent to every partition of the topic."""
    value = orjson.loads(event.value)
    return value["shop"] if value.get("topic") == SHOP_REDACT else None


def register(ctx: Context, products: GlobalTableT, shop_settings: ShopSettingsTable) -> Purchases:
    partitions = ctx.settings.kafka_partitions
    # Raw values, decoded by the agent's step: Faust's own decoding would crash the agent on a
    # record that is not JSON instead of letting it be dead-lettered.
    purchases = ctx.app.topic(
        f"{ctx.settings.app_id}-product-purchases",
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        internal=True,
    )
    trends = ctx.app.Table("product-trends", partitions=partitions, schema=ctx.schema, key_type=bytes)

    def on_purchase(
        state: State | None, purchase: dict[str, Any], now: datetime
    ) -> tuple[State | None, Notification | None]:
        shop, order, at = purchase["shop"], purchase["order"], purchase["at"]
        rules = shop_settings.settings_for(shop)
        recorded = record_purchase(state, order, at, now.timestamp(), rules.trending_thresholds)
        if recorded is None:
            return None, None  # a re-delivery, or an order older than the window
        state, crossing = recorded
        if crossing is None:
            return state, None
        note = product_activity_notification(
            "trending",
            shop,
            purchase["product_id"],
            crossing.count,
            cause=f"{crossing.threshold}|{order}",
            occurred_at=datetime.fromtimestamp(at, UTC),
            rules=rules,
            catalog=products,
            fallback_title=purchase.get("title"),
            id_key=ctx.id_key,
        )
        if note is not None:
            note.webhook_id = purchase.get("webhook_id")  # the order that crossed the threshold
        return state, note

    @ctx.app.agent(purchases, name="product-trends")
    async def product_trends(stream: faust.StreamT[bytes]) -> None:
        await fold_per_batch(stream, trends, ctx.publisher, purchases_in, on_purchase, redacted_shop)

    return Purchases(purchases, partitions, ctx.id_key, ctx.redis)
