"""Beacons and orders → attributed orders and the shop's analytics counters.

Orders arrive keyed by customer, beacons by shop: the `analytics-feed` agent forwards what
attribution needs of each order (its visitor, from the `_storepulse_visitor` cart attribute the
widget set, and the fields the order ledger merges), every refund and delete, and the orders a
customers/redact names (they leave attribution), to `streams.analytics-orders` keyed `{shop}`.
So a shop's beacons and order facts meet on one partition of one agent, `analytics`, which
folds each batch in one step
(streams/domain/attribution.py) into two tables whose keys live on their shop's partition:
- `attribution`: `{shop}/v/{visitor}` the visitor's state; `{shop}/o/{order_id}` the visitor an
  order belongs to (`v`), and the refunds and deletes that came before the order (`p`);
- `analytics`: `{shop}/d/{day}` and `{shop}/x/{experiment}`, counters with their watermarks.
After each batch every counter it changed is written whole to `analytics:{shop}` (so repeating
it is harmless) and announced on `metrics:{shop}`. The counters are per day of the shop's time
zone rather than Faust windows: a window's bounds are UTC epochs, and an order attributed late
moves the counter of its own day, however old that window would be.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from functools import partial
from typing import Any

import faust
import orjson
import redis.asyncio as redis
from faust.types import EventT, TableT
from pydantic import ValidationError

from shopify.topics import CUSTOMERS_REDACT, ORDERS_DELETE, REFUNDS_CREATE
from storepulse import redis_keys
from storepulse.beacon_records import MAX_BEACONS, beacons_of
from storepulse.contracts import AnalyticsSettings
from storepulse.envelope import Envelope, NotAnEnvelope, decode_envelope
from storepulse.kafka_topics import TOPIC_ANALYTICS_ORDERS, TOPIC_BEACONS, TOPIC_ORDERS, TOPIC_SHOP, shop_key
from streams.agents.viewers import redacted_shop
from streams.domain import attribution as attr
from streams.domain.customer_metrics import FULL_ORDER_TOPICS, order_id_of
from streams.domain.standing import SettingsFor
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.redis_retry import redis_step
from streams.runtime.rekey import forget_shop, shop_of_key

VISITOR_ATTRIBUTE = "_storepulse_visitor"
# The order fields the ledger merges (customer_metrics): the rest of an order is not forwarded.
ORDER_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "cancelled_at",
    "currency",
    "total_price",
    "total_price_set",
)
REFUND_FIELDS = ("id", "order_id", "transactions")


def visitor_of(payload: dict[str, Any]) -> str | None:
    """The widget's visitor id from the order's `note_attributes`, if it carries a sane one."""
    for attribute in payload.get("note_attributes") or ():
        if isinstance(attribute, dict) and attribute.get("name") == VISITOR_ATTRIBUTE:
            value = attribute.get("value")
            if isinstance(value, str) and 8 <= len(value) <= 64:
                return value
    return None


def order_fact(envelope: Envelope) -> dict[str, Any] | None:
    """What `analytics` needs of an order event, or None for an order no visitor is known for."""
    topic, payload = envelope["topic"], envelope["payload"]
    if topic == CUSTOMERS_REDACT:  # the customer's orders leave attribution too
        orders = [str(o) for o in payload.get("orders_to_redact") or ()]
        return {"topic": topic, "shop": envelope["shop"], "order_ids": orders} if orders else None
    order_id = order_id_of(topic, payload)
    if order_id is None:
        return None
    if topic in FULL_ORDER_TOPICS:
        visitor = visitor_of(payload)
        if visitor is None:
            return None
        refunds = [
            {f: r.get(f) for f in REFUND_FIELDS} for r in payload.get("refunds") or () if isinstance(r, dict)
        ]
        slim = {**{f: payload.get(f) for f in ORDER_FIELDS}, "refunds": refunds}
    elif topic in (REFUNDS_CREATE, ORDERS_DELETE):
        visitor, slim = (
            None,
            {f: payload.get(f) for f in (REFUND_FIELDS if topic == REFUNDS_CREATE else ("id",))},
        )
    else:
        return None
    return {
        "topic": topic,
        "shop": envelope["shop"],
        "order_id": order_id,
        "visitor": visitor,
        "payload": slim,
    }


class Fold:
    """One run of the batch step: the staged tables and the counters it changed."""

    def __init__(self, batch: EventBatch, tables: tuple[TableT, TableT], settings_for: SettingsFor) -> None:
        self.states: MutableMapping[bytes, Any] = batch.staged(tables[0])
        self.counters: MutableMapping[bytes, Any] = batch.staged(tables[1])
        self.changed: dict[bytes, str] = {}  # counter key → shop
        self._settings_for = settings_for
        self._partitions = tables[0].partitions or tables[0].app.conf.topic_partitions

    def event(self, event: EventT) -> None:
        message = event.message
        # A beacon's position: its record's offset and its place in the record's batch.
        position = message.offset * MAX_BEACONS
        if message.topic != TOPIC_BEACONS:
            fact = orjson.loads(event.value)
            source = f"o{message.partition}"
            if fact["topic"] == CUSTOMERS_REDACT:
                self.forget_orders(fact, source, position)
            else:
                self.count(fact["shop"], self.order(fact, source, position), source, position)
            return
        shop = redacted_shop(event)
        if shop is not None:
            self.forget(shop, message.partition)
            return
        source = f"b{message.partition}"
        try:
            beacons = beacons_of(event.value)
        except ValidationError:
            return  # not beacons: the viewers agent, reading the same record, dead-letters it
        for index, beacon in enumerate(beacons):
            rules = self._settings_for(beacon.shop).analytics
            if beacon.type == "page_view" and attr.running(rules, beacon.received_at) is None:
                continue  # a page view counts only as an experiment's visitor
            key = f"{beacon.shop}/v/{beacon.visitor}".encode()
            at = position + index
            delta = self.visitor(key, source, at, rules, partial(attr.see_beacon, beacon=beacon, rules=rules))
            self.count(beacon.shop, delta, source, at)

    def forget_orders(self, fact: dict[str, Any], source: str, offset: int) -> None:
        """customers/redact: the orders leave the index and their visitors' ledgers (and counters)."""
        shop = fact["shop"]
        rules = self._settings_for(shop).analytics
        for order_id in fact["order_ids"]:
            index = self.states.pop(f"{shop}/o/{order_id}".encode(), None)
            if index and index["v"]:

                def drop(state: attr.Visitor, order_id: str = order_id) -> attr.Delta:
                    state["orders"].pop(order_id, None)
                    return {}

                key = f"{shop}/v/{index['v']}".encode()
                self.count(shop, self.visitor(key, source, offset, rules, drop), source, offset)

    def order(self, fact: dict[str, Any], source: str, offset: int) -> attr.Delta:
        shop, order_id = fact["shop"], fact["order_id"]
        rules = self._settings_for(shop).analytics
        index_key = f"{shop}/o/{order_id}".encode()
        index = self.states.get(index_key) or {"v": None, "p": []}
        event = [fact["topic"], fact["payload"]]
        if fact["visitor"] is not None and index["v"] is None:
            index["v"] = fact["visitor"]
            self.states[index_key] = index  # the pending events stay: a replay merges them again
        elif index["v"] is None:
            if event not in index["p"] and len(index["p"]) < attr.MAX_PENDING:
                index["p"].append(event)
                self.states[index_key] = index
            return {}
        events = [event, *index["p"]] if fact["visitor"] is not None else [event]

        def merge(state: attr.Visitor) -> attr.Delta:
            for topic, payload in events:
                attr.see_order_event(state, order_id, topic, payload, rules)
            return {}

        return self.visitor(f"{shop}/v/{index['v']}".encode(), source, offset, rules, merge)

    def visitor(
        self, key: bytes, source: str, offset: int, rules: AnalyticsSettings, change: Any
    ) -> attr.Delta:
        state = self.states.get(key)
        if state is not None and attr.applied(state["wm"], source, offset):
            return attr.logged(state, source, offset)
        state = state or attr.new_visitor()
        before = attr.contribution(state)
        delta = change(state)
        if state["orders"] or state["exp"]:  # else nothing derived can have changed
            attr.resolve(state, rules)
            delta = attr.difference(attr.contribution(state), before, delta)
        attr.remember(state, source, offset, delta)
        self.states[key] = state
        return delta

    def count(self, shop: str, delta: attr.Delta, source: str, offset: int) -> None:
        for name, fields in delta.items():
            key = f"{shop}/{name.replace(':', '/', 1)}".encode()
            counter = self.counters.get(key)
            if counter is not None and attr.applied(counter["wm"], source, offset):
                continue
            self.counters[key] = attr.add_to_counter(counter, fields, source, offset)
            self.changed[key] = shop

    def forget(self, shop: str, partition: int) -> None:
        for table in (self.states, self.counters):
            forget_shop(table, shop, partition, self._partitions, shop_of_key)
        self.changed = {k: s for k, s in self.changed.items() if s != shop}


def read_model_field(key: bytes) -> str:
    """`d:{day}` / `x:{experiment}` of a counter key `{shop}/d/{day}`."""
    return key.split(b"/", 1)[1].decode().replace("/", ":", 1)


async def write_read_models(
    client: redis.Redis, counters: MutableMapping[bytes, Any], changed: dict[bytes, str]
) -> None:
    """Each changed counter, whole, into `analytics:{shop}`; then one announcement per shop."""
    if not changed:
        return
    by_shop: dict[str, dict[str, bytes]] = {}
    for key, shop in changed.items():
        by_shop.setdefault(shop, {})[read_model_field(key)] = orjson.dumps(counters[key]["c"])
    async with client.pipeline(transaction=False) as pipe:
        for shop, fields in by_shop.items():
            pipe.hset(redis_keys.analytics(shop), mapping=fields)  # type: ignore[arg-type]
            pipe.publish(
                redis_keys.metrics_channel(shop),
                orjson.dumps({k: orjson.Fragment(v) for k, v in fields.items()}),
            )
        await pipe.execute()


def register(ctx: Context, settings_for: SettingsFor) -> TableT[bytes, Any]:
    app = ctx.app
    partitions = ctx.settings.kafka_partitions
    states = app.Table("attribution", partitions=partitions, schema=ctx.schema, key_type=bytes)
    counters = app.Table("analytics", partitions=partitions, schema=ctx.schema, key_type=bytes)
    facts = app.topic(TOPIC_ANALYTICS_ORDERS, key_type=bytes, value_type=bytes)

    def forward_step(batch: EventBatch) -> list[dict[str, Any]]:
        out = []
        for event in batch:
            try:
                envelope = decode_envelope(event.value)
            except NotAnEnvelope:
                continue  # the orders agent, reading the same record, dead-letters it
            fact = order_fact(envelope)
            if fact is not None:
                out.append(fact)
        return out

    @app.agent(app.topic(TOPIC_ORDERS, TOPIC_SHOP, key_type=bytes, value_type=bytes), name="analytics-feed")
    async def analytics_feed(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            for fact in batch.apply(forward_step):
                await facts.send(key=shop_key(fact["shop"]), value=orjson.dumps(fact))

    def fold_step(batch: EventBatch) -> dict[bytes, str]:
        fold = Fold(batch, (states, counters), settings_for)
        for event in batch:
            fold.event(event)
        return fold.changed

    @app.agent(
        app.topic(TOPIC_BEACONS, TOPIC_ANALYTICS_ORDERS, key_type=bytes, value_type=bytes), name="analytics"
    )
    async def analytics(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            changed = batch.apply(fold_step)
            await redis_step(write_read_models, ctx.redis, counters, changed)

    return counters
