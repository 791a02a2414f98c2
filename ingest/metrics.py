"""Prometheus counters of what ingest did with each delivery (GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECEIVED = Counter("storepulse_ingest_webhooks_received", "Webhook deliveries received")
ACCEPTED = Counter(
    "storepulse_ingest_webhooks_accepted", "Webhooks acknowledged by the broker, by topic", ["topic"]
)
REJECTED = Counter(
    "storepulse_ingest_webhooks_rejected", "Webhooks answered with an error, by reason", ["reason"]
)
DROPPED = Counter(
    "storepulse_ingest_webhooks_dropped", "Webhooks answered 200 but not produced, by reason", ["reason"]
)
DUPLICATES = Counter(
    "storepulse_ingest_webhooks_duplicate",
    "Deliveries whose webhook id this process already accepted (produced again; streams dedupes)",
)
PRODUCE_SECONDS = Histogram(
    "storepulse_ingest_produce_seconds",
    "Time from produce to broker acknowledgement",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
