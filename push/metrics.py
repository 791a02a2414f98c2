"""Prometheus metrics of the push server.

Connections per shop are exported as a distribution (how many shops have 1, 2-9, ... clients)
and the largest shop, never as one label per shop: shops are unbounded, labels must not be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONNECTIONS = Gauge("storepulse_push_connections", "Open SSE connections")
DELIVERED = Counter("storepulse_push_messages_delivered_total", "Events queued to a client's outbox")
DROPPED = Counter("storepulse_push_messages_dropped_total", "Events not delivered to a slow or closed client")
DISCONNECTS = Counter(
    "storepulse_push_slow_client_disconnects_total", "Clients disconnected by the server", ["reason"]
)
REPLAYED = Counter("storepulse_push_messages_replayed_total", "Events sent from recent:{shop} on (re)connect")
REJECTED = Counter("storepulse_push_connections_rejected_total", "Connections refused", ["reason"])
REDIS_RECONNECTS = Counter("storepulse_push_redis_reconnects_total", "Times the subscription was rebuilt")
DELIVERY_LATENCY = Histogram(
    "storepulse_push_delivery_latency_seconds",
    "Publish (published_at) to the last client write of an event in this process",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

SHOP_SIZE_BUCKETS = ((1, 1, "1"), (2, 9, "2-9"), (10, 99, "10-99"), (100, 999, "100-999"))


def observe_delivery(published_at_ms: float) -> None:
    DELIVERY_LATENCY.observe(max(0.0, time.time() - published_at_ms / 1000))


class ShopSizes(Collector):
    """Shops by number of connected clients, computed at scrape time."""

    def __init__(self) -> None:
        self.source: Callable[[], Iterable[int]] = lambda: ()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sizes = list(self.source())
        shops = GaugeMetricFamily(
            "storepulse_push_shops", "Shops with connected clients, by clients per shop", labels=["clients"]
        )
        for low, high, label in SHOP_SIZE_BUCKETS:
            shops.add_metric([label], sum(low <= n <= high for n in sizes))
        shops.add_metric(["1000+"], sum(n >= 1000 for n in sizes))
        yield shops
        yield GaugeMetricFamily(
            "storepulse_push_max_connections_per_shop", "Clients of the busiest shop", max(sizes, default=0)
        )


SHOP_SIZES = ShopSizes()
REGISTRY.register(SHOP_SIZES)
