"""Ingest run in-process (httpx.ASGITransport) against the real broker and Redis, and a
Kafka reader to see what it produced."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from ingest.app import create_app
from loadtests.payloads import Webhook
from storepulse.devstack import Stack
from storepulse.settings import Settings
from tests.conftest import SECRET

WEBHOOKS = "/webhooks/shopify"
REJECTED = "storepulse_ingest_webhooks_rejected_total"


def ingest_settings(stack: Stack, **overrides: Any) -> Settings:
    return stack.settings(**{"kafka_idempotent": False, **overrides})


@contextlib.asynccontextmanager
async def in_process_ingest(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests go straight into a fresh ingest app (lifespan included)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", timeout=30) as client:
            yield client


async def post(client: httpx.AsyncClient, hook: Webhook, secret: bytes = SECRET, **extra: str) -> int:
    answer = await client.post(WEBHOOKS, content=hook.body, headers={**hook.headers(secret), **extra})
    return answer.status_code


async def read_records(
    bootstrap: str,
    topics: Iterable[str],
    until: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[ConsumerRecord]:
    """Every record of `topics` from the start, once `until(records)` holds (or at the timeout).

    `settle` keeps reading that long after `until` holds, to catch records that should not exist.
    """
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            if settled_at is None and until(records):
                settled_at = time.monotonic() + settle
            if settled_at is not None and time.monotonic() >= settled_at:
                break
    finally:
        await consumer.stop()
    return records


def envelopes(records: Iterable[ConsumerRecord], shop: str) -> list[dict[str, Any]]:
    """The envelopes of `shop` among `records`."""
    values = (orjson.loads(r.value) for r in records)
    return [v for v in values if v["shop"] == shop]


async def metric(client: httpx.AsyncClient, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The current value of a sample of GET /metrics (0 when absent)."""
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and dict(sample.labels) == dict(labels or {}):
                return sample.value
    return 0.0
