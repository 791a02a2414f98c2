"""The `customer-metrics` table: each customer's orders, refunds, deletes and compliance requests.

The orders agent hands every batch of `shopify.orders` and `streams.customer-events` records to
`CustomerBook.apply`. Records that name a customer change that customer's state on this
partition; records that name only an order (refunds, deletes) go to the order index
(streams/agents/order_owners.py), which knows each order's customer and sends them back here
re-keyed. `finish` then sends what the batch produced and refreshes the read models.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from faust.types import EventT, TableT

from shopify.topics import (
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_REDACT,
    ORDERS_CREATE,
    ORDERS_DELETE,
    REFUNDS_CREATE,
    SHOP_REDACT,
)
from storepulse.envelope import FORGET_ORDER, REEVALUATE, TIER_FLOOR, Envelope, decode_envelope, sync_run_of
from storepulse.kafka_topics import (
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_ORDER_EVENTS,
    item_key,
)
from streams.agents import standing_timer
from streams.agents.compliance import (
    data_request_record,
    forget_data_requests,
    redact_customer,
    withdraw_notifications,
)
from streams.agents.order_days import OrderDays, OrderShare
from streams.agents.order_index import Outbox
from streams.agents.read_models import DataRequests, ReadModels, Touched
from streams.domain.customer_metrics import (
    FULL_ORDER_TOPICS,
    apply_event,
    day_share,
    has_order,
    order_id_of,
    owner_of,
)
from streams.domain.customer_state import CustomerState, decode_state
from streams.domain.standing import SettingsFor, TierChange, refresh, standing_of
from streams.domain.tier_floor import set_floor
from streams.runtime.batches import EventBatch
from streams.runtime.context import Context
from streams.runtime.metrics import TIER_CHANGES, tier_change
from streams.runtime.redis_retry import redis_step
from streams.runtime.rekey import forget_shop
from streams.runtime.typed_table import TypedJsonSchema

log = structlog.get_logger(__name__)


@dataclass
class Batch:
    """What one batch leaves to send and store once its table writes are done."""

    outbox: Outbox
    states: MutableMapping[bytes, CustomerState]  # the table, staged (streams/runtime/batches.py)
    touched: Touched = field(default_factory=dict)
    creates: list[tuple[EventT, Envelope]] = field(default_factory=list)
    # (shop, customer id, their order ids) of each customers/redact.
    redacted: list[tuple[str, str, list[str]]] = field(default_factory=list)
    data_requests: DataRequests = field(default_factory=list)
    tier_changes: list[str] = field(default_factory=list)  # "gained", "lost", "moved" (counted once sent)
    tier_history: list[TierChange] = field(default_factory=list)  # for the app's history
    # What each order the batch named now counts for its day (re-deliveries too, to heal).
    order_shares: list[OrderShare] = field(default_factory=list)
    # (shop, sync run) → ids of the orders a sync's records changed: what the run applied.
    sync_applied: dict[tuple[str, str], set[str]] = field(default_factory=dict)


class CustomerBook:
    def __init__(self, ctx: Context, settings_for: SettingsFor) -> None:
        app = ctx.app
        self._ctx = ctx
        self._settings_for = settings_for
        self._partitions = ctx.settings.kafka_partitions
        self._read_models = ReadModels(ctx.redis)
        self._order_days = OrderDays(ctx.redis)
        self.table: TableT[bytes, CustomerState] = app.Table(
            "customer-metrics",
            partitions=self._partitions,
            schema=TypedJsonSchema(decode_state),
            key_type=bytes,
        )
        self.customer_events = app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)
        self.order_events = app.topic(TOPIC_ORDER_EVENTS, key_type=bytes, value_type=bytes)
        self.changes = app.topic(TOPIC_CUSTOMER_CHANGES, key_type=bytes, value_type=bytes)

    def apply(self, events: EventBatch) -> Batch:
        """Apply a batch to the table; `batch.creates` holds every orders/create (event, envelope).

        Re-deliveries are included: the publisher's SET NX makes their notification a no-op, and a
        batch replayed after a crash between the table write and the publish still notifies once.
        Nothing here awaits, so the standing timer never sees a customer half-updated; what the
        batch leaves to send and store is done by `finish`.
        """
        now = datetime.now(UTC)
        batch = Batch(Outbox(self.order_events, self._partitions), events.staged(self.table))
        for event in events:
            self._apply_one(event, decode_envelope(event.value), now, batch)
        return batch

    async def finish(self, batch: Batch) -> None:
        """Send the batch's re-keyed records and tier changes; refresh the Redis read models."""
        await batch.outbox.send()
        for change in batch.tier_changes:
            TIER_CHANGES.labels(change).inc()
        # Before this batch's data requests are stored: one that came after the redaction stays.
        for shop, customer_id, _ in batch.redacted:
            await redis_step(forget_data_requests, self._ctx.redis, shop, customer_id)
        await redis_step(self._read_models.write, batch.touched, batch.data_requests, batch.tier_history)
        await redis_step(self._order_days.write, batch.order_shares)
        if batch.sync_applied:
            await redis_step(self._read_models.sync_applied, batch.sync_applied)
        for shop, customer_id, order_ids in batch.redacted:
            await withdraw_notifications(self._ctx, shop, customer_id, order_ids)
        for shop, _, _ in batch.data_requests:
            log.info("data_request_recorded", shop=shop)

    def _apply_one(self, event: EventT, envelope: Envelope, now: datetime, batch: Batch) -> None:
        topic, shop, payload = envelope["topic"], envelope["shop"], envelope["payload"]
        if topic == SHOP_REDACT:
            forget_shop(batch.states, shop, event.message.partition, self._partitions)
            return
        customer_id = envelope.get("customer_id") or owner_of(topic, payload)
        if customer_id is None:
            self._without_customer(event, envelope, batch)
            return
        key = item_key(shop, customer_id)
        if key != event.key:
            batch.outbox.add(self.customer_events, key, {**envelope, "customer_id": str(customer_id)})
        elif topic == CUSTOMERS_REDACT:
            self._redact(key, shop, str(customer_id), payload, batch)
        elif topic == CUSTOMERS_DATA_REQUEST:
            field_name, record = data_request_record(batch.states.get(key), str(customer_id), envelope, now)
            batch.data_requests.append((shop, field_name, record))
        else:
            self._update(event, key, str(customer_id), envelope, now, batch)

    def _without_customer(self, event: EventT, envelope: Envelope, batch: Batch) -> None:
        topic, shop = envelope["topic"], envelope["shop"]
        order_id = order_id_of(topic, envelope["payload"])
        if order_id is None:
            return
        if topic in (REFUNDS_CREATE, ORDERS_DELETE):
            batch.outbox.to_order_index(item_key(shop, order_id), dict(envelope))
        elif topic == ORDERS_CREATE:
            # A guest order: shown on the storefront, counted for no one.
            batch.creates.append((event, envelope))
            batch.outbox.owner(shop, order_id, None)

    def _update(
        self, event: EventT, key: bytes, customer_id: str, envelope: Envelope, now: datetime, batch: Batch
    ) -> None:
        topic, shop, payload = envelope["topic"], envelope["shop"], envelope["payload"]
        state = batch.states.get(key)
        created = state is None
        if state is None:
            state = CustomerState(shop, customer_id)
        changed = False
        if topic == TIER_FLOOR:
            changed = set_floor(state, payload)
        elif topic != REEVALUATE:
            order_id = order_id_of(topic, payload)
            known = order_id is not None and has_order(state, order_id)
            placed = state.orders.get(order_id) if order_id is not None else None
            changed = apply_event(state, topic, payload)
            if order_id is not None and (share := day_share(state.orders.get(order_id), placed)):
                batch.order_shares.append(OrderShare(shop, order_id, *share))
            if changed and (run := sync_run_of(envelope.get("webhook_id"))) and order_id is not None:
                batch.sync_applied.setdefault((shop, run), set()).add(str(order_id))
            if changed and not known and topic in FULL_ORDER_TOPICS:
                batch.outbox.owner(shop, str(order_id), customer_id)
            if topic == ORDERS_CREATE:
                batch.creates.append((event, envelope))
        if created and not changed:
            return  # nothing about this customer is worth keeping
        standing = standing_of(state)
        change = refresh(state, self._settings_for(shop), now)
        if changed or standing_of(state) != standing:
            batch.states[key] = state
        if change is not None:
            # The webhook that moved the tier travels with the change, into the write-back's logs.
            record = {**change.record(), "webhook_id": envelope.get("webhook_id")}
            batch.outbox.add(self.changes, key, record)
            batch.tier_changes.append(tier_change(change.tier_from, change.tier_to))
            batch.tier_history.append(change)
        batch.touched[key] = state

    def _redact(self, key: bytes, shop: str, customer_id: str, payload: dict[str, Any], batch: Batch) -> None:
        held = batch.states.get(key)
        for order_id, entry in (held.orders if held else {}).items():
            if share := day_share(entry):
                batch.order_shares.append(OrderShare(shop, order_id, share[0], 0, Decimal(0), forget=True))
        orders = redact_customer(batch.states, key, payload)
        for order_id in orders:
            record = {"topic": FORGET_ORDER, "shop": shop, "payload": {"id": order_id}}
            batch.outbox.to_order_index(item_key(shop, order_id), record)
        batch.touched[key] = None
        # The customer's data requests earlier in this batch go with the stored ones.
        batch.data_requests = [
            r for r in batch.data_requests if not (r[0] == shop and r[2]["customer_id"] == customer_id)
        ]
        batch.redacted.append((shop, customer_id, orders))


def register(ctx: Context, settings_for: SettingsFor) -> CustomerBook:
    book = CustomerBook(ctx, settings_for)
    standing_timer.register(ctx, book.table, settings_for)
    return book
