"""Webhook envelopes produced straight to Kafka, keyed as ingest keys them (tests and benchmarks)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from ingest.routing import route
from loadtests.payloads import API_VERSION
from storepulse.beacon_records import batch_value
from storepulse.envelope import envelope_bytes
from storepulse.kafka_topics import TOPIC_BEACONS, partition_of, shop_key


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


def beacon_records(
    beacons: Iterable[tuple[str, bytes]], partitions: int, per_record: int = 20
) -> list[tuple[str, bytes, bytes]]:
    """(shop, Beacon JSON) pairs as ingest produces them (ingest/beacon_batches.py): gathered per
    partition into records of `per_record`, each keyed by its first beacon's shop."""
    pending: dict[int, list[tuple[str, bytes]]] = {}
    out = []
    for shop, beacon in beacons:
        batch = pending.setdefault(partition_of(shop_key(shop), partitions), [])
        batch.append((shop, beacon))
        if len(batch) == per_record:
            out.append((TOPIC_BEACONS, shop_key(batch[0][0]), batch_value([b for _, b in batch])))
            batch.clear()
    out += [(TOPIC_BEACONS, shop_key(b[0][0]), batch_value([v for _, v in b])) for b in pending.values() if b]
    return out
