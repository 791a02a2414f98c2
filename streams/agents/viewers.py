"""Live viewers: page-view beacons → "N people are viewing this now" notifications.

Beacons arrive keyed `{shop}`, so every beacon of a shop is on one partition and the
`product-viewers` table (keyed `{shop}/{product_id}`) needs no re-keying; its keys live on their
shop's partition, where shop/redact (streams/agents/compliance.py) sends the shop's envelope.
"""

from __future__ import annotations

from datetime import datetime

import faust
from faust.types import EventT, TableT
from faust.types.tables import GlobalTableT

from shopify.topics import SHOP_REDACT
from storepulse.beacon_records import beacons_of, is_batch
from storepulse.contracts import Beacon, Notification
from storepulse.envelope import NotAnEnvelope, decode_envelope
from storepulse.kafka_topics import TOPIC_BEACONS, item_key
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain.notifications import product_activity_notification
from streams.domain.windows import VIEW_ANNOUNCE_EVERY_S, record_view
from streams.runtime.batches import State, fold_per_batch
from streams.runtime.context import Context
from streams.runtime.rekey import shop_of_key


def page_views(value: bytes) -> list[Beacon]:
    """The record's page views of a product; ValidationError when it holds no beacons."""
    return [b for b in beacons_of(value) if b.type == "page_view" and b.product_id]


def redacted_shop(event: EventT) -> str | None:
    """The shop of the shop/redact the compliance agent sent to the shop's partition."""
    if is_batch(event.value):
        return None  # the common case, told without parsing
    try:
        envelope = decode_envelope(event.value)
    except NotAnEnvelope:
        return None  # beacons (or no record at all: `page_views` says which)
    return envelope["shop"] if envelope["topic"] == SHOP_REDACT else None


def register(ctx: Context, products: GlobalTableT, shop_settings: ShopSettingsTable) -> TableT[bytes, State]:
    topic = ctx.app.topic(TOPIC_BEACONS, key_type=bytes, value_type=bytes)
    viewers = ctx.app.Table(
        "product-viewers", partitions=ctx.settings.kafka_partitions, schema=ctx.schema, key_type=bytes
    )

    def views_in(event: EventT) -> list[tuple[bytes, Beacon]]:
        return [(item_key(b.shop, b.product_id), b) for b in page_views(event.value) if b.product_id]

    def on_view(state: State | None, beacon: Beacon, _: datetime) -> tuple[State | None, Notification | None]:
        assert beacon.product_id is not None  # views_in passes only views of a product
        rules = shop_settings.settings_for(beacon.shop)
        at = beacon.received_at.timestamp()
        state, count = record_view(state, beacon.visitor, at, rules.viewing_min_viewers)
        if count is None:
            return state, None
        return state, product_activity_notification(
            "viewing",
            beacon.shop,
            beacon.product_id,
            count,
            # At most one announcement a minute, so the minute names it.
            cause=str(int(at // VIEW_ANNOUNCE_EVERY_S)),
            occurred_at=beacon.received_at,
            rules=rules,
            catalog=products,
            id_key=ctx.id_key,
        )

    @ctx.app.agent(topic, name="viewers")
    async def product_viewers(stream: faust.StreamT[bytes]) -> None:
        await fold_per_batch(
            stream, viewers, ctx.publisher, views_in, on_view, redacted_shop, placed_by=shop_of_key
        )

    return viewers
