"""Table recovery must read a changelog to its true end, though Tansu's ListOffsets undercounts."""

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.types import TP

from storepulse.devstack import Stack
from streams.runtime.faust_seam import fetched_highwaters
from tests.support.kafka import bootstrap


async def test_fetched_highwater_counts_every_record_of_every_batch(stack: Stack) -> None:
    servers = bootstrap(stack)
    topic = f"changelog-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 2, 1, topic_configs={"retention.ms": "-1"})])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=50)
    await producer.start()
    for size in (10, 5):  # two record batches: offsets 0-9 and 10-14
        for future in [await producer.send(topic, b"v", partition=0) for _ in range(size)]:
            await future
    await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=servers)
    await consumer.start()
    listed = (await consumer.end_offsets([TopicPartition(topic, 0)]))[TopicPartition(topic, 0)]
    await consumer.stop()
    ends = await fetched_highwaters([servers], {TP(topic, 0): listed, TP(topic, 1): 0})
    assert ends == {TP(topic, 0): 15, TP(topic, 1): 0}
