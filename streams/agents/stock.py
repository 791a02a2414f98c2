"""Stock: inventory_levels/update and products/* → "Only 3 left of …" and "… is back in stock".

Inventory levels name an inventory item, not a product, so everything about a shop's stock
(`streams/domain/stock.py`) is one state, keyed `{shop}/stock`, on the shop's partition of
`shopify.inventory` (keyed `{shop}`):
ingest sends the levels there, the catalog agent forwards the products/* webhooks that say
which product each item belongs to, and the compliance agent a shop/redact, which deletes the
state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust
from faust.types import EventT, TableT
from faust.types.tables import GlobalTableT

from shopify.topics import INVENTORY_LEVELS_UPDATE, PRODUCT_TOPICS, PRODUCTS_DELETE
from storepulse.contracts import Notification
from storepulse.envelope import Envelope, decode_envelope
from storepulse.kafka_topics import TOPIC_INVENTORY, item_key
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain import stock
from streams.domain.notifications import product_activity_notification
from streams.runtime.batches import State, fold_per_batch
from streams.runtime.context import Context
from streams.runtime.rekey import redacted_shop, shop_of_key


def changes_in(event: EventT) -> list[tuple[bytes, Envelope]]:
    envelope = decode_envelope(event.value)
    if envelope["topic"] not in (INVENTORY_LEVELS_UPDATE, *PRODUCT_TOPICS):
        return []
    return [(item_key(envelope["shop"], "stock"), envelope)]


def register(ctx: Context, products: GlobalTableT, shop_settings: ShopSettingsTable) -> TableT[bytes, State]:
    topic = ctx.app.topic(TOPIC_INVENTORY, key_type=bytes, value_type=bytes)
    table = ctx.app.Table(
        "product-stock", partitions=ctx.settings.kafka_partitions, schema=ctx.schema, key_type=bytes
    )

    def on_change(
        state: State | None, envelope: Envelope, now: datetime
    ) -> tuple[State | None, Notification | None]:
        shop, payload, kind = envelope["shop"], envelope["payload"], envelope["topic"]
        rules = shop_settings.settings_for(shop)
        state = state or stock.empty()
        threshold = rules.low_stock_threshold
        crossing: stock.Crossing | None
        if kind == INVENTORY_LEVELS_UPDATE:
            crossing = stock.apply_level(state, payload, threshold)
        else:
            crossing = stock.apply_product(state, payload, threshold, deleted=kind == PRODUCTS_DELETE)
        if crossing is None:
            return state, None
        note = product_activity_notification(
            crossing.change,
            shop,
            crossing.product_id,
            crossing.available if crossing.change == "low_stock" else None,
            cause=str(crossing.seq),
            occurred_at=now,
            rules=rules,
            catalog=products,
            fallback_title=crossing.title,
            id_key=ctx.id_key,
        )
        if note is not None:
            note.webhook_id = envelope.get("webhook_id")
        return state, note

    @ctx.app.agent(topic, name="stock")
    async def product_stock(stream: faust.StreamT[bytes]) -> None:
        await fold_per_batch(
            stream, table, ctx.publisher, changes_in, on_change, redacted_shop, placed_by=shop_of_key
        )

    return table


def forwarded(envelope: Envelope) -> dict[str, Any]:
    """What of a products/* envelope the stock agent reads: the product's items."""
    product = envelope["payload"]
    variants = product.get("variants")
    kept = ("inventory_item_id", "inventory_management", "inventory_quantity")
    return {
        **envelope,
        "payload": {
            "id": product.get("id"),
            "title": product.get("title"),
            "variants": [
                {k: v.get(k) for k in kept}
                for v in (variants if isinstance(variants, list) else [])
                if isinstance(v, dict)
            ],
        },
    }
