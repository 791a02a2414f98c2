"""Live visitors: page-view beacons → "128 shoppers on the store right now" notifications.

The same page views as the viewers agent (streams/agents/viewers.py), of any page, counted per
shop: the `shop-visitors` table is keyed `{shop}/site`, placed by the `{shop}` of the beacons, so a
shop's visitors live on its partition, where shop/redact (streams/agents/compliance.py) sends the
shop's envelope and `forget_shop` finds the key by its `{shop}/` prefix. Ingest
already dropped page views over an address's few visitors (ingest/beacons.py), so invented
visitor ids cannot inflate the count.
"""

from __future__ import annotations

from datetime import datetime

import faust
from faust.types import EventT, TableT

from storepulse.beacon_records import beacons_of
from storepulse.contracts import Beacon, Notification
from storepulse.kafka_topics import TOPIC_BEACONS, item_key
from streams.agents.shop_settings import ShopSettingsTable
from streams.agents.viewers import redacted_shop
from streams.domain.notifications import visitors_notification
from streams.domain.windows import VISITORS_ANNOUNCE_EVERY_S, record_visit
from streams.runtime.batches import State, fold_per_batch
from streams.runtime.context import Context
from streams.runtime.rekey import shop_of_key

# The table's one key per shop: product ids are digits, so it is no product's.
SITE = "site"


def visits_in(event: EventT) -> list[tuple[bytes, Beacon]]:
    return [(item_key(b.shop, SITE), b) for b in beacons_of(event.value) if b.type == "page_view"]


def register(ctx: Context, shop_settings: ShopSettingsTable) -> TableT[bytes, State]:
    topic = ctx.app.topic(TOPIC_BEACONS, key_type=bytes, value_type=bytes)
    visitors = ctx.app.Table(
        "shop-visitors", partitions=ctx.settings.kafka_partitions, schema=ctx.schema, key_type=bytes
    )

    def on_visit(
        state: State | None, beacon: Beacon, _: datetime
    ) -> tuple[State | None, Notification | None]:
        rules = shop_settings.settings_for(beacon.shop)
        at = beacon.received_at.timestamp()
        state, count = record_visit(state, beacon.visitor, at, rules.visitors_min)
        if count is None:
            return state, None
        return state, visitors_notification(
            beacon.shop,
            count,
            # At most one announcement in five minutes, so the five minutes name it.
            cause=str(int(at // VISITORS_ANNOUNCE_EVERY_S)),
            occurred_at=beacon.received_at,
            rules=rules,
            id_key=ctx.id_key,
        )

    @ctx.app.agent(topic, name="visitors")
    async def shop_visitors(stream: faust.StreamT[bytes]) -> None:
        await fold_per_batch(
            stream, visitors, ctx.publisher, visits_in, on_visit, redacted_shop, placed_by=shop_of_key
        )

    return visitors
