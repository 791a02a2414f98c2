"""Prometheus metrics of the push server.

Connections per shop are exported as a distribution (how many shops have 1, 2-9, ... clients)
and the largest shop, never as one label per shop: shops are unbounded, labels must not be.
Gauges name how `--workers N` processes add up (storepulse/metrics_registry.py): connections and
the distribution sum over the live processes (a shop served by two processes counts in each),
the largest shop is the largest any one process holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("storepulse_push_connections", "Open SSE connections", multiprocess_mode="livesum")
DELIVERED = Counter("storepulse_push_messages_delivered_total", "Events queued to a client's outbox")
DROPPED = Counter("storepulse_push_messages_dropped_total", "Events not delivered to a slow or closed client")
DISCONNECTS = Counter(
    "storepulse_push_slow_client_disconnects_total", "Clients disconnected by the server", ["reason"]
)
for _reason in ("slow", "stalled"):  # push/client.py: a full outbox, a write that never finished
    DISCONNECTS.labels(_reason)
REPLAYED = Counter("storepulse_push_messages_replayed_total", "Events sent from recent:{shop} on (re)connect")
REJECTED = Counter("storepulse_push_connections_rejected_total", "Connections refused", ["reason"])
REDIS_RECONNECTS = Counter("storepulse_push_redis_reconnects_total", "Times the subscription was rebuilt")
DELIVERY_LATENCY = Histogram(
    "storepulse_push_delivery_latency_seconds",
    "Publish (published_at) to the last client write of an event in this process",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SHOPS = Gauge(
    "storepulse_push_shops",
    "Shops with connected clients, by clients per shop",
    ["clients"],
    multiprocess_mode="livesum",
)
MAX_PER_SHOP = Gauge(
    "storepulse_push_max_connections_per_shop", "Clients of the busiest shop", multiprocess_mode="livemax"
)

SHOP_SIZE_BUCKETS = ((1, 1, "1"), (2, 9, "2-9"), (10, 99, "10-99"), (100, 999, "100-999"))
for _label in (*(label for _, _, label in SHOP_SIZE_BUCKETS), "1000+"):
    SHOPS.labels(_label)  # every bucket shows from the start, empty ones as 0


def _bucket(clients: int) -> str | None:
    for low, high, label in SHOP_SIZE_BUCKETS:
        if low <= clients <= high:
            return label
    return "1000+" if clients >= 1000 else None


def shop_resized(before: int, after: int) -> None:
    """A shop went from `before` to `after` clients: move it between buckets (O(1) per connection,
    so the distribution is current at any scrape of any process)."""
    old, new = _bucket(before), _bucket(after)
    if old != new:
        if old is not None:
            SHOPS.labels(old).dec()
        if new is not None:
            SHOPS.labels(new).inc()


def observe_largest_shop(sizes: Iterable[int]) -> None:
    MAX_PER_SHOP.set(max(sizes, default=0))


def observe_delivery(published_at_ms: float) -> None:
    DELIVERY_LATENCY.observe(max(0.0, time.time() - published_at_ms / 1000))
