"""The order → customer index, so refunds and deletes (which name only an order) reach the customer.

Table `order-owners`, keyed `{shop}/{order_id}` and fed by `streams.order-events` (same key):
- `streams/order-owners` records (sent by the customers step the first time it counts an order,
  one per batch and partition) set owners; `customer_id` None marks a guest order, whose refunds
  concern no one;
- refunds/create and orders/delete are forwarded to `streams.customer-events` keyed by the
  owner; one that arrives before its order waits in the entry (`pending`) until the owner is known;
- `streams/forget-order` (customers/redact) drops the entry; `shop/redact` drops the shop's.
Every step is idempotent: setting the same owner twice or forwarding a refund twice changes
nothing downstream, because the customer's ledger keys refunds by id.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import EventT

from shopify.topics import SHOP_REDACT
from storepulse.envelope import FORGET_ORDER, ORDER_OWNERS, decode_envelope
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, TOPIC_ORDER_EVENTS, item_key
from streams.runtime.batches import batches
from streams.runtime.context import Context
from streams.runtime.rekey import forget_shop, forward

# A refund or delete waits for its order at most this many per order (guards a runaway entry).
MAX_PENDING = 50


def register(ctx: Context) -> faust.Table:
    app = ctx.app
    partitions = ctx.settings.kafka_partitions
    owners = app.Table("order-owners", partitions=partitions, schema=ctx.schema, key_type=bytes)
    customer_events = app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)

    async def to_owner(shop: str, customer_id: str, envelope: dict[str, Any]) -> None:
        await forward(customer_events, item_key(shop, customer_id), envelope, customer_id=customer_id)

    async def set_owner(key: bytes, shop: str, customer_id: str | None) -> None:
        entry = owners.get(key)
        if entry is not None and "customer_id" in entry:
            return
        owners[key] = {"customer_id": customer_id}
        for waiting in (entry or {}).get("pending", ()) if customer_id else ():
            await to_owner(shop, customer_id, waiting)

    async def handle(event: EventT, envelope: dict[str, Any]) -> None:
        topic, shop = envelope["topic"], envelope["shop"]
        if topic == ORDER_OWNERS:
            for order_id, customer_id in envelope["payload"].get("owners", {}).items():
                await set_owner(item_key(shop, order_id), shop, customer_id)
            return
        entry = owners.get(event.key)
        if topic == SHOP_REDACT:
            forget_shop(owners, shop, event.message.partition)
        elif topic == FORGET_ORDER:
            owners.pop(event.key, None)
        elif entry is not None and "customer_id" in entry:
            if entry["customer_id"] is not None:
                await to_owner(shop, entry["customer_id"], envelope)
        else:
            pending = (entry or {}).get("pending", [])
            if all(p.get("webhook_id") != envelope.get("webhook_id") for p in pending):
                owners[event.key] = {"pending": [*pending, envelope][-MAX_PENDING:]}

    @app.agent(app.topic(TOPIC_ORDER_EVENTS, key_type=bytes, value_type=bytes), name="order-owners")
    async def order_owners(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            for event in batch:
                envelope = decode_envelope(event.value)
                if envelope is not None:
                    await handle(event, envelope)

    return owners
