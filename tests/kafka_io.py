"""Producing webhook envelopes straight to Kafka (as ingest would) and reading topics back."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from loadtests.kafka_feed import produce as feed
from storepulse.devstack import Stack


def bootstrap(stack: Stack) -> str:
    return stack.env["KAFKA_URL"].removeprefix("kafka://")


async def produce(stack: Stack, records: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Send (webhook topic, shop, payload) records where ingest would (topic and key)."""
    return await feed(bootstrap(stack), records)


async def consume(
    stack: Stack,
    topic: str,
    *,
    key_prefix: bytes,
    count: int,
    timeout_ms: int = 15000,
    same: Callable[[Any], Hashable] | None = None,
) -> list[Any]:
    """At least the first `count` values on `topic` whose key starts with `key_prefix` (from the
    start); values `same` maps alike count once (e.g. a record two workers' groups both wrote)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap(stack), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: dict[Hashable, Any] = {}
    try:
        while len(found) < count:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    if (record.key or b"").startswith(key_prefix):
                        value = orjson.loads(record.value)
                        found.setdefault(same(value) if same else (record.partition, record.offset), value)
    finally:
        await consumer.stop()
    return list(found.values())
