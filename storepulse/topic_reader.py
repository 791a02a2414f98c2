"""Reading a Kafka topic from its start to its end as it is now, in no consumer group."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

READ_TIMEOUT_S = 30.0


async def read_topic(bootstrap: str, topic: str, timeout_s: float = READ_TIMEOUT_S) -> list[ConsumerRecord]:
    """Every record of `topic`, read to the end as it is now, in no consumer group (commits nothing)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            raise LookupError(f"the broker has no topic {topic}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        # The end is the high watermark a fetch reports (the broker's ListOffsets may undercount).
        while not await at_end(consumer, partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end in {timeout_s:.0f}s")
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def at_end(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    """Whether the consumer has read every partition up to the high watermark its fetches reported."""
    for tp in partitions:
        end = consumer.highwater(tp)
        if end is None or await consumer.position(tp) < end:
            return False
    return True
