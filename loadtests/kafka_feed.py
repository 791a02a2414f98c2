"""Webhook envelopes produced straight to Kafka, keyed as ingest keys them (tests and benchmarks)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from ingest.routing import route
from loadtests.payloads import API_VERSION
from storepulse.envelope import envelope_bytes


def envelope(topic: str, shop: str, payload: dict[str, Any]) -> bytes:
    """The envelope ingest would produce for this delivery, triggered now."""
    return envelope_bytes(
        webhook_id=str(uuid.uuid4()),
        event_id=str(uuid.uuid4()),
        topic=topic,
        shop=shop,
        payload=payload,
        api_version=API_VERSION,
        triggered_at=datetime.now(UTC).isoformat(),
    )


async def produce(bootstrap: str, records: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Send (webhook topic, shop, payload) records to the topic and key ingest routes them to."""

    def routed() -> Iterable[tuple[str, bytes, bytes]]:
        for topic, shop, payload in records:
            found = route(topic, shop, payload)
            if found is None:
                raise ValueError(f"ingest does not route {topic}")
            kafka_topic, key = found
            yield kafka_topic, key, envelope(topic, shop, payload)

    return await produce_records(bootstrap, routed())


async def produce_records(bootstrap: str, records: Iterable[tuple[str, bytes, bytes]]) -> int:
    """Send (Kafka topic, key, value) records, batched, and wait until the broker has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    sent = 0
    try:
        futures = []
        for topic, key, value in records:
            futures.append(await producer.send(topic, value, key=key))
            sent += 1
        await producer.flush()
        for future in futures:
            await future
    finally:
        await producer.stop()
    return sent
