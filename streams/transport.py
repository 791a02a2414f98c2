"""A Kafka transport tuned for the embedded Tansu broker (and harmless on Apache Kafka).

- The consumer waits at most `fetch_wait_ms` for a fetch: Faust hard-codes 1.5 s, which against
  Tansu alone puts p50 latency above 2 s (DESIGN.md).
- Table recovery reads changelogs up to their true end. Tansu answers ListOffsets with the base
  offset of the last record batch + 1 (11 after two batches holding offsets 0-9 and 10-14), so
  Faust would stop restoring a table early and silently drop its newest state. A fetch response
  carries the right high watermark, so one small fetch per changelog partition corrects it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import aiokafka
import structlog
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = structlog.get_logger(__name__)

HIGHWATER_PROBE_TIMEOUT_S = 10.0


async def fetched_highwaters(bootstrap: list[str], reported: Mapping[TP, int]) -> dict[TP, int]:
    """The high watermark a fetch reports for each partition (at least `reported`).

    Partitions reported empty are probed too: Tansu may report 0 for one that holds a batch.
    """
    probe = {TopicPartition(tp.topic, tp.partition): end or 0 for tp, end in reported.items()}
    if not probe:
        return dict(reported)
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(probe))
        for tp, end in probe.items():
            consumer.seek(tp, max(end - 1, 0))
        deadline = time.monotonic() + HIGHWATER_PROBE_TIMEOUT_S
        while time.monotonic() < deadline:
            pending = [tp for tp in probe if consumer.highwater(tp) is None]
            if not pending:
                break
            await consumer.getmany(*pending, timeout_ms=200, max_records=1)
        fetched = {(tp.topic, tp.partition): consumer.highwater(tp) for tp in probe}
        unknown = sorted(f"{t}/{p}" for (t, p), hw in fetched.items() if hw is None)
        if unknown:
            log.warning("changelog_end_unverified", partitions=unknown)
        corrected = {
            tp: max(end or 0, fetched.get((tp.topic, tp.partition)) or 0) for tp, end in reported.items()
        }
        moved = {
            f"{tp.topic}/{tp.partition}": [reported[tp], end]
            for tp, end in corrected.items()
            if end != reported[tp]
        }
        if moved:
            log.info("changelog_end_corrected", reported_vs_fetched=moved)
        return corrected
    finally:
        await consumer.stop()


class _TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.fetch_wait_ms
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        reported = await super()._highwaters(partitions)
        if self.consumer.in_transaction:
            return reported
        transport = self.consumer.transport
        return await fetched_highwaters(
            faust_aiokafka.server_list(transport.url, transport.default_port), reported
        )


class _TunedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = _TunedConsumer
