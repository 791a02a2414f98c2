"""Orders → customer metrics table, purchase notifications and purchases keyed by product.

Orders arrive keyed `{shop}/{customer}` (ingest chooses the key), so the customer table is
co-partitioned with its source topic and no repartitioning hop is needed. Records re-keyed to a
customer (refunds, deletes, compliance requests) arrive on `streams.customer-events`, which has
the same key and partition count, into the same agent.
"""

from __future__ import annotations

from datetime import UTC, datetime

import faust
from faust.types.tables import GlobalTableT

from storepulse.contracts import Notification
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, TOPIC_ORDERS
from streams.agents.customers import Batch, CustomerBook
from streams.agents.shop_settings import ShopSettingsTable
from streams.agents.trends import Purchases
from streams.domain.notifications import purchase_notification
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.metrics import ORDERS_PROCESSED
from streams.runtime.redis_retry import redis_step


def register(
    ctx: Context,
    products: GlobalTableT,
    shop_settings: ShopSettingsTable,
    book: CustomerBook,
    purchases: Purchases,
) -> None:
    topic = ctx.app.topic(TOPIC_ORDERS, TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)

    def step(events: EventBatch) -> tuple[Batch, list[Notification]]:
        """The batch applied to the customers, and the purchase notifications of its new orders."""
        batch = book.apply(events)
        now = datetime.now(UTC)
        out: list[Notification] = []
        for event, envelope in batch.creates:
            events.on_behalf_of(event)  # a notification that cannot be made fails its own order
            shop = envelope["shop"]
            note = purchase_notification(
                shop,
                envelope["payload"],
                now=now,
                rules=shop_settings.settings_for(shop),
                catalog=products,
                id_key=ctx.id_key,
            )
            if note is not None:
                note.webhook_id = envelope.get("webhook_id")
                out.append(note)
        return batch, out

    @ctx.app.agent(topic, name="orders")
    async def orders(stream: faust.StreamT[bytes]) -> None:
        async for events in batches(stream):
            batch, out = events.apply(step)
            ORDERS_PROCESSED.inc(len(batch.creates))
            # Storefronts first: what follows does not decide what they see, except a redaction
            # in this batch, which `finish` applies after this and so removes its notifications.
            await redis_step(ctx.publisher.publish, out)
            await book.finish(batch)
            await purchases.send([envelope for _, envelope in batch.creates])
