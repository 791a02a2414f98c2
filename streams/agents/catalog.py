"""Product catalog: products/* webhooks → a global table every worker can read, and each
product's inventory items forwarded to `shopify.inventory` (streams/agents/stock.py)."""

from __future__ import annotations

from typing import Any

import faust
from faust.types.tables import GlobalTableT

from shopify.topics import PRODUCTS_DELETE
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import TOPIC_INVENTORY, TOPIC_PRODUCTS, item_key, shop_key
from streams.agents.stock import forwarded
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.rekey import forward
from streams.runtime.stores import MEMORY


def _text(value: Any) -> str | None:
    # Notifications show these: anything but a string would fail every order of the product.
    return value if isinstance(value, str) else None


def register(ctx: Context) -> GlobalTableT:
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

    def update(batch: EventBatch) -> list[dict[str, Any]]:
        """The batch's products written to the table; its envelopes, for the stock agent."""
        table = batch.staged(products)
        seen: list[dict[str, Any]] = []
        for event in batch:
            envelope = decode_envelope(event.value)
            product = envelope["payload"]
            key = item_key(envelope["shop"], product.get("id"))
            seen.append(forwarded(envelope))
            if envelope["topic"] == PRODUCTS_DELETE:
                table.pop(key, None)
                continue
            images = product.get("images")
            image = product.get("image") or (images[0] if isinstance(images, list) and images else None)
            table[key] = {
                "title": _text(product.get("title")),
                "handle": _text(product.get("handle")),
                "image": _text(image.get("src")) if isinstance(image, dict) else None,
            }
        return seen

    @ctx.app.agent(topic, name="catalog")
    async def catalog(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            for envelope in batch.apply(update):
                await forward(inventory, shop_key(envelope["shop"]), envelope)

    return products
