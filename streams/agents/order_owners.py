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

from collections.abc import MutableMapping
from typing import Any, cast

import faust
from faust.types import EventT, TableT

from shopify.topics import SHOP_REDACT
from storepulse.envelope import FORGET_ORDER, ORDER_OWNERS, Envelope, decode_envelope
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, TOPIC_ORDER_EVENTS, item_key
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.rekey import forget_shop, forward

# A refund or delete waits for its order at most this many per order (guards a runaway entry).
MAX_PENDING = 50

# (shop, customer_id, envelope): an event that goes on to its customer.
Forward = tuple[str, str, dict[str, Any]]


class OrderIndex:
    """One batch's changes to the index; what it forwards is sent once they are made."""

    def __init__(self, owners: MutableMapping[bytes, Any], partitions: int) -> None:
        self._owners = owners
        self._partitions = partitions
        self.forwards: list[Forward] = []

    def handle(self, event: EventT, envelope: Envelope) -> None:
        topic, shop, key = envelope["topic"], envelope["shop"], cast(bytes, event.key)
        if topic == ORDER_OWNERS:
            for order_id, customer_id in envelope["payload"].get("owners", {}).items():
                self._set_owner(item_key(shop, order_id), shop, customer_id)
            return
        entry = self._owners.get(key)
        if topic == SHOP_REDACT:
            forget_shop(self._owners, shop, event.message.partition, self._partitions)
        elif topic == FORGET_ORDER:
            self._owners.pop(key, None)
        elif entry is not None and "customer_id" in entry:
            if entry["customer_id"] is not None:
                self.forwards.append((shop, entry["customer_id"], dict(envelope)))
        else:
            pending = (entry or {}).get("pending", [])
            if all(p.get("webhook_id") != envelope.get("webhook_id") for p in pending):
                self._owners[key] = {"pending": [*pending, envelope][-MAX_PENDING:]}

    def _set_owner(self, key: bytes, shop: str, customer_id: str | None) -> None:
        entry = self._owners.get(key)
        if entry is not None and "customer_id" in entry:
            return
        self._owners[key] = {"customer_id": customer_id}
        if customer_id:
            for waiting in (entry or {}).get("pending", ()):
                self.forwards.append((shop, customer_id, waiting))


def register(ctx: Context) -> TableT[bytes, dict[str, Any]]:
    app = ctx.app
    partitions = ctx.settings.kafka_partitions
    owners = app.Table("order-owners", partitions=partitions, schema=ctx.schema, key_type=bytes)
    customer_events = app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)

    def update(batch: EventBatch) -> list[Forward]:
        index = OrderIndex(batch.staged(owners), partitions)
        for event in batch:
            index.handle(event, decode_envelope(event.value))
        return index.forwards

    @app.agent(app.topic(TOPIC_ORDER_EVENTS, key_type=bytes, value_type=bytes), name="order-owners")
    async def order_owners(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            for shop, customer_id, envelope in batch.apply(update):
                await forward(customer_events, item_key(shop, customer_id), envelope, customer_id=customer_id)

    return owners
