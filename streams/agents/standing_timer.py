"""Time moves a customer's standing (VIP dropoff, recency, days since the last order) with no event.

Every `STOREPULSE_CUSTOMER_REFRESH_S` each worker looks at the customers of its own partitions and
sends each one whose standing drifted a `streams/reevaluate` record to its own partition, where
the customers step recomputes and stores it like any other change (so tier changes and read
models follow the one path). Only sends: a timer must not write a table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import faust
import structlog
from faust.types import TableT

from storepulse.envelope import REEVALUATE
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS
from streams.domain.customer_state import CustomerState
from streams.domain.standing import SettingsFor, drifted
from streams.runtime.context import Context
from streams.runtime.rekey import forward

log = structlog.get_logger(__name__)


async def reevaluate_drifted(
    table: TableT[bytes, CustomerState], settings_for: SettingsFor, customer_events: faust.TopicT
) -> int:
    """Ask each local customer whose standing time moved to re-evaluate on its own partition."""
    now = datetime.now(UTC)
    sent = 0
    for key, state in list(table.items()):
        if drifted(state, settings_for(state.shop), now):
            record = {"topic": REEVALUATE, "shop": state.shop, "payload": {}}
            await forward(customer_events, key, record, customer_id=state.customer_id)
            sent += 1
    return sent


def register(ctx: Context, table: TableT[bytes, CustomerState], settings_for: SettingsFor) -> None:
    customer_events = ctx.app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)

    @ctx.app.timer(ctx.settings.customer_refresh_s, name="customer-standing")
    async def customer_standing() -> None:
        count = await reevaluate_drifted(table, settings_for, customer_events)
        if count:
            log.info("customer_standing_drifted", customers=count)
