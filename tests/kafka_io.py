"""Producing webhook envelopes straight to Kafka (as ingest would) and reading topics back."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ingest.routing import route
from storepulse.devstack import Stack


def envelope(topic: str, shop: str, payload: dict[str, Any], webhook_id: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "webhook_id": webhook_id or str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
            "topic": topic,
            "shop": shop,
            "api_version": "2026-10",
            "triggered_at": datetime.now(UTC).isoformat(),
            "received_at": datetime.now(UTC).isoformat(),
            "payload": payload,
        }
    )


def bootstrap(stack: Stack) -> str:
    return stack.env["KAFKA_URL"].removeprefix("kafka://")


async def produce(stack: Stack, records: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Send (webhook topic, shop, payload) records to the topic and key ingest routes them to."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(stack), linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    sent = 0
    try:
        futures = []
        for topic, shop, payload in records:
            routed = route(topic, shop, payload)
            assert routed is not None, f"ingest does not route {topic}"
            kafka_topic, key = routed
            futures.append(await producer.send(kafka_topic, envelope(topic, shop, payload), key=key.encode()))
            sent += 1
        await producer.flush()
        for f in futures:
            await f
    finally:
        await producer.stop()
    return sent


async def consume(
    stack: Stack, topic: str, *, key_prefix: bytes, count: int, timeout_ms: int = 15000
) -> list[Any]:
    """The first `count` values on `topic` whose key starts with `key_prefix` (from the start)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap(stack), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[Any] = []
    try:
        while len(found) < count:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            if not batch:
                break
            for records in batch.values():
                found += [orjson.loads(r.value) for r in records if (r.key or b"").startswith(key_prefix)]
    finally:
        await consumer.stop()
    return found
