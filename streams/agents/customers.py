"""The `customer-metrics` table: orders, refunds, deletes and compliance requests per customer.

The orders agent hands every batch of `shopify.orders` and `streams.customer-events` records to
`CustomerBook.apply`. Records that name a customer change that customer's state on this
partition; records that name only an order (refunds, deletes) go to `order_owners`, which knows
each order's customer and sends them back here re-keyed. After each batch one Redis pipeline
refreshes the admin read models `vips:{shop}` and `segments:{shop}` for every customer touched
(also on re-deliveries, so a crash between the table write and Redis heals on replay).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import structlog
from faust.types import EventT

from shopify.topics import (
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_REDACT,
    ORDERS_CREATE,
    ORDERS_DELETE,
    REFUNDS_CREATE,
    SHOP_REDACT,
)
from storepulse import redis_keys
from storepulse.contracts import ShopSettings
from storepulse.envelope import FORGET_ORDER, ORDER_OWNERS, REEVALUATE, decode_envelope
from storepulse.kafka_topics import (
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_ORDER_EVENTS,
    item_key,
    partition_of,
)
from storepulse.redis_keys import recent_stream
from streams.domain.customer_metrics import (
    FULL_ORDER_TOPICS,
    apply_event,
    customer_view,
    new_state,
    order_id_of,
    owner_of,
)
from streams.domain.notifications import notification_id
from streams.domain.standing import SettingsFor, read_model, refresh
from streams.runtime.batches import EventBatch
from streams.runtime.context import Context
from streams.runtime.rekey import forget_shop, forward

log = structlog.get_logger(__name__)


@dataclass
class Batch:
    """What one batch leaves to send and store once its table writes are done."""

    touched: dict[bytes, dict[str, Any] | None] = field(default_factory=dict)
    creates: list[dict[str, Any]] = field(default_factory=list)
    redacted: list[tuple[str, list[str]]] = field(default_factory=list)
    data_requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Records to produce once the batch is applied.
    outbox: list[tuple[faust.TopicT, bytes, dict[str, Any]]] = field(default_factory=list)
    # The outbox's order-owners records still taking entries, by (shop, partition). Closed by any
    # other order-events record, so an owner never overtakes e.g. a redaction of the same order.
    open_owners: dict[tuple[str, int], dict[str, str | None]] = field(default_factory=dict)


class CustomerBook:
    def __init__(self, ctx: Context, settings_for: SettingsFor) -> None:
        app = ctx.app
        self._ctx = ctx
        self._settings_for = settings_for
        self._partitions = ctx.settings.kafka_partitions
        self.table = app.Table("customer-metrics", partitions=self._partitions, schema=ctx.schema)
        self.customer_events = app.topic(TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)
        self.order_events = app.topic(TOPIC_ORDER_EVENTS, key_type=bytes, value_type=bytes)
        self.changes = app.topic(TOPIC_CUSTOMER_CHANGES, key_type=bytes, value_type=bytes)

    def apply(self, events: EventBatch) -> Batch:
        """Apply a batch to the table; `batch.creates` holds the envelope of every orders/create.

        Re-deliveries are included: the publisher's SET NX makes their notification a no-op, and a
        batch replayed after a crash between the table write and the publish still notifies once.
        Nothing here awaits, so the standing timer never sees a customer half-updated; what the
        batch leaves to send and store is done by `finish`.
        """
        now = datetime.now(UTC)
        batch = Batch()
        for event in events:
            envelope = decode_envelope(event.value)
            if envelope is not None and isinstance(envelope.get("shop"), str):
                self._apply_one(event, envelope, now, batch)
        return batch

    async def finish(self, batch: Batch) -> None:
        """Send the batch's re-keyed records and tier changes; refresh the Redis read models."""
        for topic, key, record in batch.outbox:
            await topic.send(key=key, value=orjson.dumps(record))
        await self._write_read_models(batch)

    def _apply_one(self, event: EventT, envelope: dict[str, Any], now: datetime, batch: Batch) -> None:
        topic, shop, payload = envelope.get("topic"), envelope["shop"], envelope["payload"]
        if topic == SHOP_REDACT:
            forget_shop(self.table, shop, event.message.partition, self._partitions)
            return
        customer_id = envelope.get("customer_id") or owner_of(topic, payload)
        if customer_id is None:
            self._without_customer(envelope, topic, shop, payload, batch)
            return
        key = item_key(shop, str(customer_id))
        if key != event.key:
            batch.outbox.append((self.customer_events, key, {**envelope, "customer_id": str(customer_id)}))
        elif topic == CUSTOMERS_REDACT:
            self._redact(key, shop, payload, batch)
        elif topic == CUSTOMERS_DATA_REQUEST:
            self._data_request(key, shop, str(customer_id), envelope, now, batch)
        else:
            self._update(key, shop, str(customer_id), envelope, now, batch)

    def _without_customer(
        self, envelope: dict[str, Any], topic: Any, shop: str, payload: dict[str, Any], batch: Batch
    ) -> None:
        order_id = order_id_of(topic, payload)
        if order_id is None:
            return
        if topic in (REFUNDS_CREATE, ORDERS_DELETE):
            self._to_order(item_key(shop, order_id), envelope, batch)
        elif topic == ORDERS_CREATE:
            # A guest order: shown on the storefront, counted for no one.
            batch.creates.append(envelope)
            self._index(shop, order_id, None, batch)

    def _index(self, shop: str, order_id: str, customer_id: str | None, batch: Batch) -> None:
        key = item_key(shop, order_id)
        place = (shop, partition_of(key, self._partitions))
        bundle = batch.open_owners.get(place)
        if bundle is None:
            bundle = batch.open_owners[place] = {}
            # Keyed by its first order: every order in it hashes to the same partition.
            record = {"topic": ORDER_OWNERS, "shop": shop, "payload": {"owners": bundle}}
            batch.outbox.append((self.order_events, key, record))
        bundle[order_id] = customer_id

    def _to_order(self, key: bytes, record: dict[str, Any], batch: Batch) -> None:
        batch.open_owners.clear()
        batch.outbox.append((self.order_events, key, record))

    def _update(
        self, key: bytes, shop: str, customer_id: str, envelope: dict[str, Any], now: datetime, batch: Batch
    ) -> None:
        topic, payload = envelope["topic"], envelope["payload"]
        state = self.table.get(key)
        created = state is None
        if created:
            state = new_state(shop, customer_id)
        changed = False
        if topic != REEVALUATE:
            order_id = order_id_of(topic, payload)
            known = order_id in state["orders"] and "u" in state["orders"][order_id]
            changed = apply_event(state, topic, payload)
            if changed and not known and topic in FULL_ORDER_TOPICS:
                self._index(shop, str(order_id), customer_id, batch)
            if topic == ORDERS_CREATE:
                batch.creates.append(envelope)
        if created and not changed:
            return  # nothing about this customer is worth keeping
        standing = _standing(state)
        change = refresh(state, self._settings_for(shop), now)
        if changed or _standing(state) != standing:
            self.table[key] = state
        if change is not None:
            batch.outbox.append((self.changes, key, change.record()))
        batch.touched[key] = state

    def _redact(self, key: bytes, shop: str, payload: dict[str, Any], batch: Batch) -> None:
        state = self.table.pop(key, None)
        orders = {str(o) for o in payload.get("orders_to_redact") or ()}
        if state is not None:
            orders |= set(state["orders"])
        for order_id in sorted(orders):
            record = {"topic": FORGET_ORDER, "shop": shop, "payload": {"id": order_id}}
            self._to_order(item_key(shop, order_id), record, batch)
        batch.touched[key] = None
        batch.redacted.append((shop, sorted(orders)))

    def _data_request(
        self, key: bytes, shop: str, customer_id: str, envelope: dict[str, Any], now: datetime, batch: Batch
    ) -> None:
        payload = envelope["payload"]
        state = self.table.get(key)
        request = payload.get("data_request") if isinstance(payload.get("data_request"), dict) else {}
        record = {
            "request_id": request.get("id"),
            "customer_id": customer_id,
            "requested_at": envelope.get("triggered_at") or envelope.get("received_at"),
            "recorded_at": now.isoformat(),
            "metrics": customer_view(state) if state else None,
            "order_ids": sorted(state["orders"]) if state else [],
        }
        field_name = f"{customer_id}:{request.get('id') or envelope.get('webhook_id')}"
        batch.data_requests.append((shop, field_name, record))

    async def _write_read_models(self, batch: Batch) -> None:
        if not (batch.touched or batch.data_requests):
            return
        by_shop: dict[str, list[tuple[str, dict[str, Any] | None]]] = defaultdict(list)
        for key, state in batch.touched.items():
            shop, customer_id = key.decode().split("/", 1)
            by_shop[shop].append((customer_id, state))
        async with self._ctx.redis.pipeline(transaction=False) as pipe:
            for shop, customers in by_shop.items():
                vips = {c: orjson.dumps(read_model(s)) for c, s in customers if s and s.get("tier")}
                not_vip = [c for c, s in customers if not (s and s.get("tier"))]
                segments = {c: s["segment"] for c, s in customers if s}
                gone = [c for c, s in customers if s is None]
                if vips:
                    pipe.hset(redis_keys.vips(shop), mapping=vips)
                if not_vip:
                    pipe.hdel(redis_keys.vips(shop), *not_vip)
                if segments:
                    pipe.hset(redis_keys.segments(shop), mapping=segments)
                if gone:
                    pipe.hdel(redis_keys.segments(shop), *gone)
            for shop, field_name, record in batch.data_requests:
                pipe.hset(redis_keys.data_requests(shop), field_name, orjson.dumps(record))
            await pipe.execute()
        for shop, order_ids in batch.redacted:
            await self._unpublish(shop, order_ids)
        for shop, _, _ in batch.data_requests:
            log.info("data_request_recorded", shop=shop)

    async def _unpublish(self, shop: str, order_ids: list[str]) -> None:
        """Delete the storefront notifications a redacted customer's orders caused."""
        ids = {notification_id(shop, "purchase", o, self._ctx.id_key) for o in order_ids}
        stream = recent_stream(shop)
        doomed = [
            entry_id
            for entry_id, fields in await self._ctx.redis.xrange(stream)
            if orjson.loads(fields[b"n"]).get("id") in ids
        ]
        if doomed:
            await self._ctx.redis.xdel(stream, *doomed)
        log.info("customer_redacted", shop=shop, notifications_removed=len(doomed))

    def standing_drifted(self, state: dict[str, Any], settings: ShopSettings, now: datetime) -> bool:
        """Whether time alone moved this customer's standing (VIP dropoff, recency, days)."""
        probe = dict(state)
        refresh(probe, settings, now)
        return _standing(probe) != _standing(state)

    async def reevaluate_drifted(self) -> int:
        """Ask each local customer whose standing time moved to re-evaluate on its own partition."""
        now = datetime.now(UTC)
        sent = 0
        for key, state in list(self.table.items()):
            if self.standing_drifted(state, self._settings_for(state["shop"]), now):
                record = {"topic": REEVALUATE, "shop": state["shop"], "payload": {}}
                await forward(self.customer_events, key, record, customer_id=state["customer_id"])
                sent += 1
        return sent


def _standing(state: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(state.get(k) for k in ("days_since_last_order", "segment", "tier", "potential_tier"))


def register(ctx: Context, settings_for: SettingsFor) -> CustomerBook:
    book = CustomerBook(ctx, settings_for)

    @ctx.app.timer(ctx.settings.customer_refresh_s, name="customer-standing")
    async def customer_standing() -> None:
        drifted = await book.reevaluate_drifted()
        if drifted:
            log.info("customer_standing_drifted", customers=drifted)

    return book
