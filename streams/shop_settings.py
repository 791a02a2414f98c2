"""Per-shop settings: the compacted `shop.settings` topic read as a Faust GlobalTable.

The topic itself is the table's changelog, so a record produced by the admin API (or by
anyone) reaches every worker without an agent in between, and a worker that starts reads
every shop's latest settings before it is ready. `synchronize_all_active_partitions` keeps
every partition flowing into every worker after recovery too (nothing writes the table
in-process, every change comes from the topic), and a buffer of one applies each record
as it arrives (Faust's default buffers 1,000 changelog records before applying them).
"""

from __future__ import annotations

import asyncio

import faust
import structlog
from pydantic import ValidationError

from storepulse.contracts import TOPIC_SHOP_SETTINGS, ShopSettings
from streams.context import Context

log = structlog.get_logger(__name__)


class ShopSettingsTable:
    """Every shop's settings; `settings_for(shop)` is what agents and the admin API read."""

    def __init__(self, table: faust.GlobalTable, topic: faust.TopicT) -> None:
        self.table = table
        self.topic = topic
        # Parsed settings per shop, reused while the table holds the same value object.
        self._parsed: dict[str, tuple[object, ShopSettings]] = {}

    def settings_for(self, shop: str) -> ShopSettings:
        """The shop's settings; the defaults while it has none (or a record that is not valid)."""
        raw = self.table.get(shop.encode())
        cached = self._parsed.get(shop)
        if cached is not None and cached[0] is raw:
            return cached[1]
        parsed = ShopSettings(shop=shop)
        if raw is not None:
            try:
                parsed = ShopSettings.model_validate({**raw, "shop": shop})
            except (ValidationError, TypeError):
                log.warning("shop_settings_invalid", shop=shop)
        self._parsed[shop] = (raw, parsed)
        return parsed

    async def put(self, settings: ShopSettings, timeout: float = 5.0) -> bool:
        """Produce the shop's new settings; True once this worker's table holds them.

        Waiting for the table gives the admin API read-your-writes; False means the broker
        acknowledged them but they have not come back through the changelog yet.
        """
        key, value = settings.shop.encode(), settings.model_dump(mode="json")
        await (await self.topic.send(key=key, value=value))
        try:
            async with asyncio.timeout(timeout):
                # Faust signals nothing after it applies a changelog record, so poll.
                while self.table.get(key) != value:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        except TimeoutError:
            return False
        return True


def register(ctx: Context) -> ShopSettingsTable:
    topic = ctx.app.topic(
        TOPIC_SHOP_SETTINGS,
        schema=ctx.schema,
        partitions=ctx.settings.kafka_partitions,
        compacting=True,
        deleting=False,
    )
    table = ctx.app.GlobalTable(
        "shop-settings",
        partitions=ctx.settings.kafka_partitions,
        schema=ctx.schema,
        changelog_topic=topic,
        synchronize_all_active_partitions=True,
        recovery_buffer_size=1,
    )
    return ShopSettingsTable(table, topic)
