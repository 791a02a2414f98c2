"""Carts: signed carts/create and carts/update webhooks → "4 people have this in their cart".

Not from browser beacons, which anyone can forge: Shopify signs these. Carts arrive keyed
`{shop}` (ingest), so the `product-carts` table (keyed `{shop}/{product_id}`) lives on the
shop's partition, where shop/redact (streams/agents/compliance.py) sends the shop's envelope.
A cart is counted by a keyed digest of its token: the table holds no token a storefront uses.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT, TableT
from faust.types.tables import GlobalTableT

from shopify.topics import CART_TOPICS
from storepulse.contracts import Notification
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import TOPIC_CARTS, item_key
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain.fields import parse_time
from streams.domain.notifications import product_activity_notification
from streams.domain.windows import CART_ANNOUNCE_EVERY_S, record_cart
from streams.runtime.batches import State, fold_per_batch
from streams.runtime.context import Context
from streams.runtime.rekey import redacted_shop, shop_of_key


def cart_pseudonym(token: str, key: bytes) -> str:
    return hashlib.blake2b(token.encode(), key=key[:64], digest_size=12, person=b"cart").hexdigest()


def register(ctx: Context, products: GlobalTableT, shop_settings: ShopSettingsTable) -> TableT[bytes, State]:
    topic = ctx.app.topic(TOPIC_CARTS, key_type=bytes, value_type=bytes)
    table = ctx.app.Table(
        "product-carts", partitions=ctx.settings.kafka_partitions, schema=ctx.schema, key_type=bytes
    )

    def products_in(event: EventT) -> list[tuple[bytes, dict[str, Any]]]:
        """One (key, holding) per distinct product of the cart."""
        envelope = decode_envelope(event.value)
        cart, shop = envelope["payload"], envelope["shop"]
        token = cart.get("token") or cart.get("id")
        if envelope["topic"] not in CART_TOPICS or not isinstance(token, str) or not token:
            return []
        at = parse_time(cart.get("updated_at")) or parse_time(envelope.get("received_at"))
        if at is None:
            return []
        items = cart.get("line_items")
        held = {
            str(item["product_id"])
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("product_id"), int | str)
        }
        holding = {
            "shop": shop,
            "cart": cart_pseudonym(token, ctx.id_key),
            "at": at,
            "webhook_id": envelope.get("webhook_id"),
        }
        return [(item_key(shop, pid), {**holding, "product_id": pid}) for pid in sorted(held)]

    def on_holding(
        state: State | None, holding: dict[str, Any], _: datetime
    ) -> tuple[State | None, Notification | None]:
        shop, at = holding["shop"], holding["at"]
        rules = shop_settings.settings_for(shop)
        state, count = record_cart(state, holding["cart"], at.timestamp(), rules.cart_min)
        if count is None:
            return state, None
        note = product_activity_notification(
            "cart",
            shop,
            holding["product_id"],
            count,
            # At most one announcement per 10 minutes, so the 10 minutes name it.
            cause=str(int(at.timestamp() // CART_ANNOUNCE_EVERY_S)),
            occurred_at=at,
            rules=rules,
            catalog=products,
            id_key=ctx.id_key,
        )
        if note is not None:
            note.webhook_id = holding["webhook_id"]
        return state, note

    @ctx.app.agent(topic, name="carts")
    async def product_carts(stream: faust.StreamT[bytes]) -> None:
        await fold_per_batch(
            stream, table, ctx.publisher, products_in, on_holding, redacted_shop, placed_by=shop_of_key
        )

    return table
