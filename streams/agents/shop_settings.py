"""Per-shop settings: the compacted `shop.settings` topic kept in a Faust GlobalTable.

When a shop's settings arrive, the notifications in its recent stream naming a product it
excludes are withdrawn: no kind names one from then on (streams/domain/notifications.py).

Every worker needs every shop's settings, whatever partitions it owns: an agent validates
each record of `shop.settings` into the global table, whose changelog reaches every worker.
(Faust cannot use `shop.settings` itself as a global table's changelog: its assignor then
looks for partitions of the default changelog name and the group never forms.)
"""

from __future__ import annotations

import asyncio
from typing import cast

import faust
from faust.types.tables import GlobalTableT

from storepulse.contracts import ShopSettings
from storepulse.kafka_topics import TOPIC_SHOP_SETTINGS
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.redis_retry import redis_step
from streams.runtime.stores import MEMORY


class ShopSettingsTable:
    """Every shop's settings; `settings_for(shop)` is what agents and the admin API read."""

    def __init__(self, table: GlobalTableT, topic: faust.TopicT) -> None:
        self.table = table
        self.topic = topic
        # Parsed settings per shop, reused while the table holds the same value object.
        self._parsed: dict[str, tuple[object, ShopSettings]] = {}

    def settings_for(self, shop: str) -> ShopSettings:
        """The shop's settings; the defaults while it has none."""
        key = shop.encode()
        # Not table.get: for a shop without settings Faust raises (and Mapping.get catches) a
        # KeyError, and this runs for every order, in several steps.
        raw = self.table[key] if key in self.table else None
        cached = self._parsed.get(shop)
        if cached is not None and cached[0] is raw:
            return cached[1]
        parsed = ShopSettings(shop=shop) if raw is None else ShopSettings.model_validate(raw)
        self._parsed[shop] = (raw, parsed)
        return parsed

    async def put(self, settings: ShopSettings, timeout: float = 5.0) -> bool:
        """Produce the shop's new settings; True once this worker's table holds them.

        Waiting for the table gives the admin API read-your-writes; False means the broker
        acknowledged them but they have not come back through the changelog yet.
        """
        key, value = settings.shop.encode(), settings.model_dump(mode="json")
        await (await self.topic.send(key=key, value=settings.model_dump_json().encode()))
        try:
            async with asyncio.timeout(timeout):
                # Faust signals nothing after it applies a changelog record, so poll.
                while self.table.get(key) != value:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        except TimeoutError:
            return False
        return True


def register(ctx: Context) -> ShopSettingsTable:
    partitions = ctx.settings.kafka_partitions
    topic = ctx.app.topic(TOPIC_SHOP_SETTINGS, key_type=bytes, value_type=bytes, partitions=partitions)
    # Recovery buffer of one: a worker that does not own a change applies it as it arrives
    # (Faust buffers 1,000 standby changelog records by default before applying them).
    # In memory on every store (streams/runtime/stores.py): `settings_for` reuses a parse while the
    # table holds the same value object, which a store on disk would decode anew on every read.
    table = ctx.app.GlobalTable(
        "shop-settings",
        partitions=partitions,
        schema=ctx.schema,
        key_type=bytes,
        recovery_buffer_size=1,
        store=MEMORY,
    )

    def update(batch: EventBatch) -> dict[str, set[str]]:
        """The batch's settings written to the table; the products each shop now excludes."""
        staged = batch.staged(table)
        excluded: dict[str, set[str]] = {}
        for event in batch:
            if event.value is None:  # a tombstone: the shop is back to the defaults
                staged.pop(cast(bytes, event.key), None)
                continue
            # Invalid settings are dead-lettered: the shop keeps the ones it had. (Templates are
            # checked where they are rendered, so ones stored before that check cannot break it.)
            settings = ShopSettings.model_validate_json(event.value)
            staged[settings.shop.encode()] = settings.model_dump(mode="json")
            excluded[settings.shop] = set(settings.excluded_products)
        return excluded

    @ctx.app.agent(topic, name="shop-settings")
    async def shop_settings(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            for shop, product_ids in batch.apply(update).items():
                if product_ids:
                    await redis_step(ctx.publisher.withdraw_naming, shop, product_ids)

    return ShopSettingsTable(table, topic)
