"""Attribution and the analytics counters as the `analytics` agent's batch step folds them:
windows, reordering, refunds and cancellations, and replays after a crash left the tables torn."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson

from shopify.topics import ORDERS_UPDATED, REFUNDS_CREATE
from storepulse.beacon_records import batch_value
from storepulse.contracts import AnalyticsSettings, Experiment, ShopSettings
from storepulse.kafka_topics import TOPIC_ANALYTICS_ORDERS, TOPIC_BEACONS
from streams.agents.analytics import Fold, order_fact
from streams.domain.arms import arm_of
from streams.runtime.batches import EventBatch

SHOP = "attr-shop.myshopify.com"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DAY = NOW.date().isoformat()


class Table(dict[bytes, Any]):
    partitions = 1


class Record(SimpleNamespace):
    """Stands in for a Faust event (weak-referenceable, as the batch's staging needs)."""

    __slots__ = ("__weakref__",)


class Feed:
    """Records on the two source topics (one partition each), with offsets."""

    def __init__(self) -> None:
        self.events: list[Record] = []
        self._next = {TOPIC_BEACONS: 0, TOPIC_ANALYTICS_ORDERS: 0}
        self._batch: list[bytes] = []

    def _add(self, topic: str, value: bytes) -> None:
        offset = self._next[topic]
        self._next[topic] += 1
        self.events.append(
            Record(value=value, message=SimpleNamespace(topic=topic, partition=0, offset=offset))
        )

    def beacon(self, kind: str, visitor: str, at: datetime, note: str = "purchase-abc") -> None:
        """Beacons go out in batches of up to 3 records, as ingest gathers them."""
        body = {
            "shop": SHOP,
            "type": kind,
            "visitor": visitor,
            "notification_id": note,
            "received_at": at.isoformat(),
        }
        self._batch.append(orjson.dumps(body))
        if len(self._batch) == 3:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            self._add(TOPIC_BEACONS, batch_value(self._batch))
            self._batch = []

    def order(self, order_id: int, visitor: str | None, at: datetime, total: str, **extra: Any) -> None:
        payload = {
            "id": order_id,
            "created_at": at.isoformat(),
            "updated_at": (at + timedelta(seconds=extra.pop("version", 0))).isoformat(),
            "total_price": total,
            "currency": "EUR",
            "note_attributes": [{"name": "_storepulse_visitor", "value": visitor}] if visitor else [],
            **extra,
        }
        self._fact(ORDERS_UPDATED, payload)

    def refund(self, refund_id: int, order_id: int, amount: str) -> None:
        tx = {"kind": "refund", "status": "success", "amount": amount}
        self._fact(REFUNDS_CREATE, {"id": refund_id, "order_id": order_id, "transactions": [tx]})

    def _fact(self, topic: str, payload: dict[str, Any]) -> None:
        self.flush()
        fact = order_fact({"topic": topic, "shop": SHOP, "payload": payload})  # type: ignore[typeddict-item]
        if fact is not None:
            self._add(TOPIC_ANALYTICS_ORDERS, orjson.dumps(fact))


def fold(events: list[Record], tables: tuple[Table, Table], rules: AnalyticsSettings, size: int = 7) -> None:
    settings = ShopSettings(shop=SHOP, analytics=rules)
    for start in range(0, len(events), size):
        batch = EventBatch(events[start : start + size])  # type: ignore[arg-type]

        def step(b: EventBatch) -> None:
            f = Fold(b, tables, lambda _: settings)  # type: ignore[arg-type]
            for event in b:
                f.event(event)

        batch.apply(step)


def counts(tables: tuple[Table, Table], name: str) -> dict[str, Any]:
    counter = tables[1].get(f"{SHOP}/{name}".encode())
    return counter["c"] if counter else {}


def run(feed: Feed, rules: AnalyticsSettings | None = None) -> tuple[Table, Table]:
    feed.flush()
    tables = (Table(), Table())
    fold(feed.events, tables, rules or AnalyticsSettings())
    return tables


def test_view_through_and_click_through_within_their_windows() -> None:
    feed = Feed()
    feed.beacon("impression", "viewer-0001", NOW - timedelta(hours=2))
    feed.beacon("impression", "stale-00001", NOW - timedelta(hours=30), note="trending-x")
    feed.beacon("click", "clicker-001", NOW - timedelta(days=3), note="trending-y")
    feed.beacon("dismiss", "viewer-0001", NOW - timedelta(hours=1))
    feed.order(1, "viewer-0001", NOW, "30.00")
    feed.order(2, "stale-00001", NOW, "50.00")  # impression 30 h before: outside 24 h
    feed.order(3, "clicker-001", NOW, "12.50")
    feed.order(4, None, NOW, "99.00")  # no visitor: never reaches the fold
    tables = run(feed)
    today = counts(tables, f"d/{DAY}")
    assert today["all|orders_view"] == 1 and today["all|revenue_view"] == "30.00"
    assert today["all|orders_click"] == 1 and today["all|revenue_click"] == "12.50"
    assert today["kind:trending|orders_click"] == 1 and "kind:trending|orders_view" not in today
    assert today["kind:purchase|orders_view"] == 1
    assert today["all|dismissals"] == 1
    earlier = (NOW - timedelta(hours=30)).date().isoformat()
    assert sum(counts(tables, f"d/{d}").get("all|impressions", 0) for d in {DAY, earlier}) == 2


def test_an_order_before_its_impression_is_attributed_when_the_impression_arrives() -> None:
    feed = Feed()
    feed.order(1, "late-visitor", NOW, "40.00")
    feed.beacon("impression", "late-visitor", NOW - timedelta(minutes=5))
    tables = run(feed)
    assert counts(tables, f"d/{DAY}")["all|revenue_view"] == "40.00"


def test_refunds_cancellations_and_repeated_webhooks() -> None:
    feed = Feed()
    feed.refund(91, 1, "5.00")  # before its order: waits in the order index
    for visitor in ("buyer-00001", "buyer-00002"):
        feed.beacon("impression", visitor, NOW - timedelta(hours=1))
    for _ in range(3):  # Shopify redelivers
        feed.order(1, "buyer-00001", NOW, "100.00")
    feed.refund(92, 1, "10.50")
    feed.refund(92, 1, "10.50")
    feed.order(2, "buyer-00002", NOW, "60.00")
    feed.order(2, "buyer-00002", NOW, "60.00", cancelled_at=NOW.isoformat(), version=60)
    tables = run(feed)
    today = counts(tables, f"d/{DAY}")
    assert today["all|orders_view"] == 1
    assert Decimal(today["all|revenue_view"]) == Decimal("84.50")
    assert today["all|visitors"] == 2 and today["all|impressions"] == 2


def test_replays_after_a_torn_write_change_nothing() -> None:
    """Any subset of the keys one batch wrote may have reached the changelog before a SIGKILL;
    the events after the committed offset then come again. The counters must end exact."""
    rng = random.Random(5)
    feed = Feed()
    visitors = [f"visitor-{i:04d}" for i in range(30)]
    for i in range(400):
        v = rng.choice(visitors)
        roll = rng.random()
        if roll < 0.7:
            feed.beacon(
                rng.choice(["impression", "click", "dismiss"]),
                v,
                NOW - timedelta(minutes=rng.randint(0, 600)),
            )
        elif roll < 0.9:
            feed.order(i, v, NOW, f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}", version=rng.randint(0, 3))
        else:
            feed.refund(10_000 + i, rng.randint(0, i), "1.25")
    expected = run(feed)
    for trial in range(20):
        tables = (Table(), Table())
        crash_at = rng.randint(50, len(feed.events) - 50)
        committed = rng.randint(max(0, crash_at - 30), crash_at)
        fold(feed.events[:crash_at], tables, AnalyticsSettings())
        # The changelog holds what was committed plus a random part of what came after it.
        before = (Table(), Table())
        fold(feed.events[:committed], before, AnalyticsSettings())
        torn = tuple(Table() for _ in range(2))
        for table, old, new in zip(torn, before, tables, strict=True):
            for key in old.keys() | new.keys():
                chosen = new if rng.random() < 0.5 else old
                if key in chosen:
                    table[key] = orjson.loads(orjson.dumps(chosen[key]))
        fold(feed.events[committed:], torn, AnalyticsSettings())  # type: ignore[arg-type]
        assert torn[1] == expected[1], f"trial {trial}"


def test_experiment_arms_count_visitors_exposure_and_conversions() -> None:
    exp = Experiment(id="exp-1", started_at=NOW - timedelta(days=1), holdout_pct=50)
    rules = AnalyticsSettings(experiment=exp)
    feed = Feed()
    visitors = [f"exp-visitor-{i:03d}" for i in range(40)]
    for v in visitors:
        feed.beacon("page_view", v, NOW - timedelta(hours=2))
        shown = arm_of(exp, v) != "holdout"
        feed.beacon("impression" if shown else "ghost_impression", v, NOW - timedelta(hours=1))
    buyers = visitors[:10]
    for i, v in enumerate(buyers):
        feed.order(i, v, NOW, "10.00")
    tables = run(feed, rules)
    result = counts(tables, "x/exp-1")
    arms = {arm_of(exp, v) for v in visitors}
    assert sum(result[f"{a}|visitors"] for a in arms) == 40
    assert sum(result[f"{a}|exposed"] for a in arms) == 40
    assert sum(result.get(f"{a}|converted", 0) for a in arms) == 10
    holdout_buyers = sum(arm_of(exp, v) == "holdout" for v in buyers)
    assert result.get("holdout|converted", 0) == holdout_buyers
    # Ghost impressions are no toast: the merchant's attributed totals leave the holdout out.
    assert counts(tables, f"d/{DAY}")["all|orders_view"] == 10 - holdout_buyers
