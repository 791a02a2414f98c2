"""Producing to the stack's topics and reading them back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from loadtests.kafka_feed import produce as feed
from storepulse.devstack import Stack
from storepulse.kafka_topics import TOPIC_BEACONS
from storepulse.topic_reader import at_end
from tests.support.eventually import eventually


def bootstrap(stack: Stack) -> str:
    return stack.env["KAFKA_URL"].removeprefix("kafka://")


async def produce_webhooks(stack: Stack, records: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Send (webhook topic, shop, payload) envelopes where ingest would (topic and key)."""
    return await feed(bootstrap(stack), records)


async def produce(
    stack: Stack, topic: str, records: Iterable[tuple[bytes, bytes | None]], gap_s: float = 0.0
) -> None:
    """Produce (key, value) records one at a time, `gap_s` apart."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(stack))
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
            await asyncio.sleep(gap_s)
    finally:
        await producer.stop()


async def read(
    servers: str,
    topics: Sequence[str],
    until: Callable[[list[ConsumerRecord]], bool] | None = None,
    *,
    timeout: float = 30.0,
) -> list[ConsumerRecord]:
    """Every record of `topics` from the start, once `until(records)` holds, read to the end.

    The end is the high watermark of a fetch made then, not ListOffsets (which Tansu undercounts),
    so a record acknowledged before is always among them: an assertion that a record is absent
    cannot pass merely because it is late to arrive.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        partitions = _partitions(consumer, topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)

        async def read_to_the_end() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return (until is None or until(records)) and await at_end(consumer, partitions)

        await eventually(
            read_to_the_end, timeout=timeout, every=0, what=f"{', '.join(topics)} read to the end"
        )
    finally:
        await consumer.stop()
    return records


def _partitions(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of `topics`, from the metadata the consumer fetched for all topics as it started."""
    found = {t: sorted(consumer.partitions_for_topic(t) or ()) for t in topics}
    assert all(found.values()), f"topics the broker does not know: {[t for t, ps in found.items() if not ps]}"
    return [TopicPartition(t, p) for t, ps in found.items() for p in ps]


async def partition_count(stack: Stack, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(stack))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(described["partitions"])


async def consume(
    stack: Stack, topic: str, *, key_prefix: bytes, count: int = 0, timeout: float = 30.0
) -> list[Any]:
    """The JSON values on `topic` keyed under `key_prefix`: all there are once `count` are there."""
    records = await read(
        bootstrap(stack), [topic], lambda rs: len(_keyed(rs, key_prefix)) >= count, timeout=timeout
    )
    return _keyed(records, key_prefix)


def _keyed(records: Iterable[ConsumerRecord], key_prefix: bytes) -> list[Any]:
    return [orjson.loads(r.value) for r in records if (r.key or b"").startswith(key_prefix)]


def of_shop(records: Iterable[ConsumerRecord], shop: str) -> list[ConsumerRecord]:
    """The records keyed `{shop}` or `{shop}/…` (other shops' records, some deliberately malformed
    by other tests, are left alone)."""
    key = shop.encode()
    return [r for r in records if r.key == key or (r.key or b"").startswith(key + b"/")]


def envelopes(records: Iterable[ConsumerRecord], shop: str) -> list[dict[str, Any]]:
    """The envelopes of `shop` among `records`."""
    return [v for v in (orjson.loads(r.value) for r in of_shop(records, shop)) if v["shop"] == shop]


def _beacons_in(value: bytes) -> list[dict[str, Any]]:
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return []  # junk other tests put there on purpose
    if not isinstance(decoded, dict):
        return []
    return decoded.get("beacons", [decoded] if "type" in decoded else [])


async def consume_beacons(
    stack: Stack, shop: str, *, count: int = 0, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The beacons of `shop` on `widget.beacons` (ingest batches a partition's beacons, several
    shops' in one record): all there are once `count` are there."""

    def of_shop(records: Iterable[ConsumerRecord]) -> list[dict[str, Any]]:
        return [b for r in records for b in _beacons_in(r.value) if b.get("shop") == shop]

    records = await read(
        bootstrap(stack), [TOPIC_BEACONS], lambda rs: len(of_shop(rs)) >= count, timeout=timeout
    )
    return of_shop(records)
