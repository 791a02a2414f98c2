"""Sign-ups: customers/create webhooks of new accounts and newsletter sign-ups → "just joined".

The agent keeps no state: a notification's id comes from the customer's id, so the publisher's
marker makes a re-delivered customers/create a no-op, and customers/redact withdraws it
(streams/agents/compliance.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import faust

from shopify.topics import CUSTOMERS_CREATE
from storepulse.contracts import Notification
from storepulse.envelope import Envelope
from storepulse.kafka_topics import TOPIC_CUSTOMERS
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain.notifications import signup_notification
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.envelope_notes import envelope_notifications
from streams.runtime.redis_retry import redis_step


def register(ctx: Context, shop_settings: ShopSettingsTable) -> None:
    topic = ctx.app.topic(TOPIC_CUSTOMERS, key_type=bytes, value_type=bytes)

    def signup(envelope: Envelope) -> Notification | None:
        if envelope["topic"] != CUSTOMERS_CREATE:
            return None
        shop = envelope["shop"]
        return signup_notification(
            shop,
            envelope["payload"],
            now=datetime.now(UTC),
            rules=shop_settings.settings_for(shop),
            id_key=ctx.id_key,
        )

    def step(events: EventBatch) -> list[Notification]:
        return envelope_notifications(events, signup)

    @ctx.app.agent(topic, name="signups")
    async def signups(stream: faust.StreamT[bytes]) -> None:
        async for events in batches(stream):
            await redis_step(ctx.publisher.publish, events.apply(step))
