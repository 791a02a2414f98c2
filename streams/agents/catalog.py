"""Product catalog: products/* webhooks → a global table every worker can read."""

from __future__ import annotations

import faust

from shopify.topics import PRODUCTS_DELETE
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import TOPIC_PRODUCTS, item_key
from streams.runtime.context import Context


def register(ctx: Context) -> faust.GlobalTable:
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
    )

    @ctx.app.agent(topic, name="catalog")
    async def catalog(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            envelope = decode_envelope(event.value)
            if envelope is None:
                continue
            product = envelope["payload"]
            key = item_key(envelope["shop"], product.get("id"))
            if envelope["topic"] == PRODUCTS_DELETE:
                products.pop(key, None)
                continue
            images = product.get("images") or []
            image = product.get("image") or (images[0] if images else None)
            products[key] = {
                "title": product.get("title"),
                "handle": product.get("handle"),
                "image": image.get("src") if isinstance(image, dict) else None,
            }

    return products
