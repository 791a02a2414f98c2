"""Every Prometheus metric of the stream worker (GET /metrics on the worker's web port).

One module, so docs/operations.md, deploy/prometheus/alerts.yml and the Grafana dashboard have one
list to agree with (tests/unit/test_observability.py holds them to it). Labels are bounded: agents,
notification kinds, outcomes and the worker's own topic partitions, never shops or customers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, get_args

from faust.types import EventT
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storepulse.contracts import NotificationKind
from streams.runtime.faust_seam import committed_offsets

ORDERS_PROCESSED = Counter(
    "storepulse_worker_orders_processed", "New orders (orders/create) processed, re-deliveries included"
)
NOTIFICATIONS_PUBLISHED = Counter(
    "storepulse_worker_notifications_published",
    "Notifications published to Redis, by kind (a repeat of one already published is not counted)",
    ["kind"],
)
TIER_CHANGES = Counter(
    "storepulse_worker_tier_changes", "Customers who gained, lost or moved tier", ["change"]
)
WRITEBACKS = Counter(
    "storepulse_worker_writebacks",
    "Tier changes the write-back finished with: written, dry_run (logged only) or failed",
    ["outcome"],
)
DEAD_LETTERS = Counter(
    "storepulse_worker_dead_letters",
    "Records sent to a dead-letter topic, by their own topic (customer.changes: failed tag write-backs)",
    ["topic"],
)
BATCH_SIZE = Histogram(
    "storepulse_worker_batch_size",
    "Events per batch, by agent",
    ["agent"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500),
)
BATCH_SECONDS = Histogram(
    "storepulse_worker_batch_seconds",
    "Time an agent spent on one batch (its table writes, sends and Redis steps)",
    ["agent"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# Every label value known in advance shows from the start, as 0: alerts over rate() need the series.
for _kind in get_args(NotificationKind):
    NOTIFICATIONS_PUBLISHED.labels(_kind)
for _change in ("gained", "lost", "moved"):
    TIER_CHANGES.labels(_change)
for _outcome in ("written", "dry_run", "failed"):
    WRITEBACKS.labels(_outcome)


def tier_change(tier_from: str | None, tier_to: str | None) -> str:
    """The `change` label of a tier change."""
    return "gained" if tier_from is None else "lost" if tier_to is None else "moved"


class BatchTimer:
    """Observes one agent's batches: how many events, and how long the agent took over them."""

    def __init__(self, agent: str) -> None:
        self._size = BATCH_SIZE.labels(agent)
        self._seconds = BATCH_SECONDS.labels(agent)
        self._started = 0.0

    def start(self, events: Sequence[EventT]) -> None:
        self._size.observe(len(events))
        self._started = time.perf_counter()

    def stop(self) -> None:
        self._seconds.observe(time.perf_counter() - self._started)


class ConsumerLag(Collector):
    """Records behind on each partition this worker consumes, computed at scrape time.

    Lag is the partition's high watermark minus the group's committed offset, what
    `kafka-consumer-groups.sh --describe` shows. A partition shows no sample until both are
    known: the first fetch answer brings the watermark, the first commit (or one made by an earlier
    member of the group) the offset. Changelog partitions, read only to restore tables, are left out.
    """

    def __init__(self) -> None:
        self.app: Any = None  # the Faust app, set by streams.app.create_app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "storepulse_worker_consumer_lag",
            "Records not yet processed and committed, per input topic and partition",
            labels=["topic", "partition"],
        )
        consumer = getattr(self.app, "consumer", None) if self.app is not None else None
        if consumer is not None:
            changelogs = self.app.tables.changelog_topics
            committed = committed_offsets(consumer)
            for tp in sorted(consumer.assignment()):
                end, done = consumer.highwater(tp), committed.get(tp)
                if tp.topic not in changelogs and end is not None and done is not None:
                    lag.add_metric([tp.topic, str(tp.partition)], max(0, end - done))
        yield lag

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering must not read the consumer: the app may not exist yet.
        yield GaugeMetricFamily("storepulse_worker_consumer_lag", "", labels=["topic", "partition"])


CONSUMER_LAG = ConsumerLag()
REGISTRY.register(CONSUMER_LAG)


SYNC_RUNS = Counter(
    "storepulse_worker_sync_runs",
    "Scheduled or requested syncs this worker finished, by kind (incremental, full) and outcome "
    "(done, failed)",
    ["kind", "outcome"],
)
SYNC_SECONDS = Histogram(
    "storepulse_worker_sync_seconds",
    "How long one shop's sync took, by kind",
    ["kind"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
SYNC_ORDERS_FETCHED = Counter(
    "storepulse_worker_sync_orders_fetched", "Orders the syncs read from Shopify and produced"
)
SYNC_ORDERS_APPLIED = Counter(
    "storepulse_worker_sync_orders_applied",
    "Orders a sync read that changed a customer (missed by webhooks), each once per run",
)
SYNC_SUBSCRIPTIONS_REPAIRED = Counter(
    "storepulse_worker_sync_subscriptions_repaired",
    "Webhook subscriptions a sync found missing or at another address and re-created",
)
SYNC_DRIFT = Counter(
    "storepulse_worker_sync_drift",
    "Customers the weekly reconciliation found differing from Shopify, by outcome: found, repaired "
    "(Shopify's orders account for it) or unexplained",
    ["outcome"],
)
for _outcome in ("found", "repaired", "unexplained"):
    SYNC_DRIFT.labels(_outcome)
SYNC_CATALOG = Counter(
    "storepulse_worker_sync_catalog_products",
    "Products the daily catalog refresh read from Shopify (refreshed) or found deleted there (deleted)",
    ["outcome"],
)
for _outcome in ("refreshed", "deleted"):
    SYNC_CATALOG.labels(_outcome)
for _kind in ("incremental", "full"):
    SYNC_SECONDS.labels(_kind)
    for _outcome in ("done", "failed"):
        SYNC_RUNS.labels(_kind, _outcome)
