"""The events API's events (`api.events`, ingest's POST /api/events) → reviews on the storefront.

No state: a notification's id comes from the shop and the event's idempotency key, so the
publisher's marker makes a re-posted event a no-op, whichever key or ingest process posted it.
Other kinds the API accepts are kept on the topic but not shown yet (docs/events-api.md).
"""

from __future__ import annotations

import faust
from faust.types.tables import GlobalTableT

from storepulse.contracts import Notification
from storepulse.envelope import API_EVENT, Envelope
from storepulse.kafka_topics import TOPIC_API_EVENTS
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain.notifications import review_notification
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.envelope_notes import envelope_notifications
from streams.runtime.redis_retry import redis_step


def register(ctx: Context, products: GlobalTableT, shop_settings: ShopSettingsTable) -> None:
    topic = ctx.app.topic(TOPIC_API_EVENTS, key_type=bytes, value_type=bytes)

    def review(envelope: Envelope) -> Notification | None:
        payload = envelope["payload"]
        if envelope["topic"] != API_EVENT or payload.get("kind") != "review":
            return None
        shop = envelope["shop"]
        return review_notification(
            shop, payload, rules=shop_settings.settings_for(shop), catalog=products, id_key=ctx.id_key
        )

    def step(events: EventBatch) -> list[Notification]:
        return envelope_notifications(events, review)

    @ctx.app.agent(topic, name="api-events")
    async def api_events(stream: faust.StreamT[bytes]) -> None:
        async for events in batches(stream):
            await redis_step(ctx.publisher.publish, events.apply(step))
