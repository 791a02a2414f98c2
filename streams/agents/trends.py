"""Product trends: purchases per product over 24 hours → "N people bought this" notifications.

Orders arrive keyed `{shop}/{customer}`; counting per product needs every purchase of a
product in one place, so the orders agent (the one reader of `shopify.orders`) re-keys each new
order's products to an internal topic partitioned by `{shop}/{product_id}` through
`Purchases.send` (one record per batch and partition, holding that partition's purchases), and
the `product-trends` table (changelog-backed) is partitioned the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from shopify.topics import ORDERS_CREATE
from storepulse.contracts import Notification
from storepulse.kafka_topics import item_key, partition_of
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain.fields import parse_time
from streams.domain.notifications import product_activity_notification
from streams.domain.windows import record_purchase
from streams.runtime.batches import State, fold_per_batch
from streams.runtime.context import Context


def product_purchases(envelope: dict[str, Any]) -> list[tuple[bytes, dict[str, Any]]]:
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
            "order_id": str(order["id"]),
            "at": (at or datetime.now(UTC)).timestamp(),
            "title": item.get("title"),
            "webhook_id": envelope.get("webhook_id"),
        }
    return [(item_key(shop, pid), purchase) for pid, purchase in purchases.items()]


class Purchases:
    """The internal topic of purchases partitioned by product."""

    def __init__(self, topic: faust.TopicT, partitions: int) -> None:
        self.topic = topic
        self._partitions = partitions

    async def send(self, envelopes: list[dict[str, Any]]) -> None:
        """Re-key a batch's new orders' products (other records have none): one record per partition."""
        bundles: dict[int, tuple[bytes, list[dict[str, Any]]]] = {}
        for envelope in envelopes:
            for key, purchase in product_purchases(envelope):
                # Keyed by its first product: every product in it hashes to the same partition.
                bundles.setdefault(partition_of(key, self._partitions), (key, []))[1].append(purchase)
        for key, purchases in bundles.values():
            await self.topic.send(key=key, value={"purchases": purchases})


def purchases_in(event: EventT) -> list[tuple[bytes, dict[str, Any]]]:
    return [(item_key(p["shop"], p["product_id"]), p) for p in event.value["purchases"]]


def register(ctx: Context, products: faust.GlobalTable, shop_settings: ShopSettingsTable) -> Purchases:
    partitions = ctx.settings.kafka_partitions
    purchases = ctx.app.topic(
        f"{ctx.settings.app_id}-product-purchases", schema=ctx.schema, partitions=partitions, internal=True
    )
    trends = ctx.app.Table("product-trends", partitions=partitions, schema=ctx.schema, key_type=bytes)

    def on_purchase(
        state: State | None, purchase: dict[str, Any], now: datetime
    ) -> tuple[State | None, Notification | None]:
        shop, order_id, at = purchase["shop"], purchase["order_id"], purchase["at"]
        rules = shop_settings.settings_for(shop)
        recorded = record_purchase(state, order_id, at, now.timestamp(), rules.trending_thresholds)
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
            cause=f"{crossing.threshold}|{order_id}",
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
    async def product_trends(stream: faust.StreamT[dict[str, Any]]) -> None:
        await fold_per_batch(stream, trends, ctx.publisher, purchases_in, on_purchase)

    return Purchases(purchases, partitions)
