"""Orders → customer metrics table and purchase notifications.

Orders arrive keyed `{shop}/{customer}` (ingest chooses the key), so the customer table is
co-partitioned with its source topic and no repartitioning hop is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import faust

from storepulse.contracts import TOPIC_ORDERS, Notification
from streams.context import Context, decode_envelope
from streams.customer_metrics import apply_order
from streams.notifications import purchase_notification
from streams.shop_settings import ShopSettingsTable

BATCH = 500
BATCH_WITHIN_S = 0.005


def register(ctx: Context, products: faust.GlobalTable, shop_settings: ShopSettingsTable) -> faust.Table:
    topic = ctx.app.topic(TOPIC_ORDERS, key_type=bytes, value_type=bytes)
    customers = ctx.app.Table(
        "customer-metrics", partitions=ctx.settings.kafka_partitions, schema=ctx.schema, key_type=bytes
    )

    @ctx.app.agent(topic, name="orders")
    async def orders(stream: faust.StreamT[bytes]) -> None:
        # take_events batches for one Redis pipeline per batch and may still write tables.
        async for events in stream.take_events(BATCH, within=BATCH_WITHIN_S):
            now = datetime.now(UTC)
            out: list[Notification] = []
            for event in events:
                # Table writes find their changelog partition through the current event.
                stream._set_current_event(event)
                envelope = decode_envelope(event.value)
                if envelope is None or envelope.get("topic") != "orders/create":
                    continue
                shop, order = envelope["shop"], envelope["payload"]
                updated = apply_order(customers.get(event.key), order)
                if updated is None:
                    continue  # a re-delivery already counted
                customers[event.key] = updated
                note = purchase_notification(
                    shop,
                    order,
                    now=now,
                    rules=shop_settings.settings_for(shop),
                    catalog=products,
                    id_key=ctx.id_key,
                )
                if note is not None:
                    out.append(note)
            await ctx.publisher.publish(out)

    return customers
