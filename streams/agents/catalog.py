"""Product catalog: products/* webhooks (and the sync's catalog refresh, ingest/sync_catalog.py,
which produces the same envelopes) → a global table every worker can read, and each product's
inventory items forwarded to `shopify.inventory` (streams/agents/stock.py).

A product that may not be announced (deleted, archived or draft, unpublished from the online
store, or in the shop's `excluded_products`) is held as `listed: False` — a deleted one too, so
an order of it is not named by its line item's title instead — and the notifications in the
shop's recent stream that name it are withdrawn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
import structlog
from faust.types.tables import GlobalTableT

from shopify.topics import PRODUCTS_DELETE
from storepulse.contracts import ShopSettings
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import TOPIC_INVENTORY, TOPIC_PRODUCTS, item_key, shop_key
from streams.agents.stock import forwarded
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.redis_retry import redis_step
from streams.runtime.rekey import forward
from streams.runtime.stores import MEMORY

log = structlog.get_logger(__name__)


def _text(value: Any) -> str | None:
    # Notifications show these: anything but a string would fail every order of the product.
    return value if isinstance(value, str) else None


# What the catalog holds of a deleted product.
TOMBSTONE: dict[str, Any] = {"title": None, "handle": None, "image": None, "listed": False, "deleted": True}


def held_products(products: GlobalTableT, shop: str) -> set[str]:
    """The ids of the shop's products the catalog holds and Shopify has not deleted."""
    prefix = item_key(shop, "")
    return {
        key[len(prefix) :].decode()
        for key, value in list(products.items())
        if key.startswith(prefix) and not value.get("deleted")
    }


def for_sale(product: dict[str, Any]) -> bool:
    """True for a product the storefront sells: active (or a payload without a status) and
    published to the online store (`published_at` null means unpublished; absent, not said)."""
    status = product.get("status")
    return (status is None or status == "active") and (
        "published_at" not in product or product["published_at"] is not None
    )


def register(ctx: Context, settings_for: Callable[[str], ShopSettings]) -> GlobalTableT:
    topic = ctx.app.topic(TOPIC_PRODUCTS, key_type=bytes, value_type=bytes)
    # Any worker may describe any order's product, so every worker holds every product. Writes
    # go to the key's partition whoever makes them (`use_partitioner`): the catalog's own land
    # where they always did (its source topic is keyed the same), and shop/redact deletes a
    # shop's products from the compliance agent (streams/agents/compliance.py).
    products = ctx.app.GlobalTable(
        "products",
        partitions=ctx.settings.kafka_partitions,
        schema=ctx.schema,
        key_type=bytes,
        use_partitioner=True,
        store=MEMORY,  # read for every notification; global tables stay in memory (streams/runtime/stores.py)
    )

    inventory = ctx.app.topic(TOPIC_INVENTORY, key_type=bytes, value_type=bytes)

    def update(batch: EventBatch) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
        """The batch's products written to the table; its envelopes, for the stock agent; and per
        shop the products it says may not be announced."""
        table = batch.staged(products)
        seen: list[dict[str, Any]] = []
        hidden: dict[str, set[str]] = {}
        for event in batch:
            envelope = decode_envelope(event.value)
            shop, product = envelope["shop"], envelope["payload"]
            product_id = str(product.get("id"))
            seen.append(forwarded(envelope))
            if envelope["topic"] == PRODUCTS_DELETE:
                table[item_key(shop, product_id)] = TOMBSTONE
                hidden.setdefault(shop, set()).add(product_id)
                continue
            images = product.get("images")
            image = product.get("image") or (images[0] if isinstance(images, list) and images else None)
            shown = for_sale(product)
            table[item_key(shop, product_id)] = {
                "title": _text(product.get("title")),
                "handle": _text(product.get("handle")),
                "image": _text(image.get("src")) if isinstance(image, dict) else None,
                "listed": shown,
            }
            if not shown or product_id in settings_for(shop).excluded_products:
                hidden.setdefault(shop, set()).add(product_id)
        return seen, hidden

    @ctx.app.agent(topic, name="catalog")
    async def catalog(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            envelopes, hidden = batch.apply(update)
            for envelope in envelopes:
                await forward(inventory, shop_key(envelope["shop"]), envelope)
            for shop, product_ids in hidden.items():
                removed = await redis_step(ctx.publisher.withdraw_naming, shop, product_ids)
                if removed:
                    log.info("product_notifications_withdrawn", shop=shop, notifications_removed=removed)

    return products
