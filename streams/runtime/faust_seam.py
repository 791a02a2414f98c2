"""Every place StorePulse departs from stock Faust / aiokafka behaviour, and why.

Nothing else in streams/ touches a private attribute of either library; tests/unit/test_faust_seam.py
checks each one still exists, so an upgrade that moves one fails loudly.

1. The consumer's fetch wait comes from `StreamsApp(fetch_wait_ms=...)`. Faust hard-codes 1.5 s
   (aiokafka's private `_fetch_max_wait_ms`), which against Tansu alone puts p50 latency above 2 s.
2. Table recovery reads changelogs up to their true end. Tansu answers ListOffsets with the base
   offset of the last record batch + 1 (11 after two batches holding offsets 0-9 and 10-14), so
   Faust would stop restoring a table early and silently drop its newest state. A fetch response
   carries the right high watermark, so one small fetch per changelog partition corrects it
   (overrides the private `AIOKafkaConsumerThread._highwaters`).
3. Offsets are committed only once every record produced before the commit is acknowledged
   (`AckTrackingProducer`): Faust's own flush gives up after 0.1 s per buffered record and cannot
   see records its buffer holds, so a SIGKILL lost committed work. Its send buffer may also hold
   10,000 records instead of 100 before it stops all consumption (private `buffer.max_messages`).
4. A batch's table writes are committed each as the event that made it (`set_writing_event`): a
   table write finds its changelog partition through the private context variable `_current_event`.
   `Stream._set_current_event` would also set `stream.current_event`, which `take_events` reads
   after the body returns to learn which event its buffer is receiving: a body that called it made
   the next batch hold the previous batch's last event twice and drop the one really next
   (measured: 393 of 10,000 orders). Only streams/runtime/batches.py calls it.
5. Consumer lag (streams/runtime/metrics.py) needs the offset the group last committed on each
   partition; Faust keeps it only in the private `Consumer._committed_offset` (asking the broker
   on every scrape would cost a round trip per partition).
6. Tables on RocksDB (`STOREPULSE_WORKER_STORE=rocksdb`) read typed values back. Faust's RocksDB
   store decodes what it reads with the table's value codec only, so the customer table would hand
   out dicts where the memory store holds `CustomerState`s; `TypedRocksDBStore` also applies the
   table schema's `typed` (streams/runtime/typed_table.py). Faust finds a store by its URL's scheme
   in the `faust.stores.STORES` aliases, where `ROCKSDB_TYPED` is registered.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Mapping
from typing import Any, cast

import aiokafka
import faust
import structlog
from aiokafka import TopicPartition
from faust.stores import STORES
from faust.stores.rocksdb import Store as RocksDBStore
from faust.streams import _current_event
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, ConsumerT, EventT, RecordMetadata, TransportT
from faust.types.tuples import FutureMessage

log = structlog.get_logger(__name__)

HIGHWATER_PROBE_TIMEOUT_S = 10.0
COMMIT_WAIT_REPORT_S = 10.0


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
        consumer._fetch_max_wait_ms = transport.fetch_wait_ms
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        reported = await super()._highwaters(partitions)
        if self.consumer.in_transaction:
            return reported
        transport = cast(faust_aiokafka.Transport, self.consumer.transport)
        return await fetched_highwaters(
            faust_aiokafka.server_list(transport.url, transport.default_port), reported
        )


class _TunedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class AckTrackingProducer(faust_aiokafka.Producer):
    """A producer whose `flush()` returns only once everything produced so far is in the broker.

    Faust commits offsets after `producer.flush()`, but its flush gives up after 0.1 s per
    buffered record and cannot see a record its buffer took off the queue but has not handed to
    aiokafka yet (aiokafka may be waiting for room in a batch). Under load, offsets were then
    committed ahead of the changelog writes and outputs of their events, and a SIGKILL lost them.
    Every record is produced before its input event is acked, so waiting here for the records
    produced up to the commit makes every committed offset's effects durable.
    """

    # Faust stops all consumption whenever its send buffer holds over 100 records (table writes
    # queue there) until 100 are sent: at 1,000 orders/s that stalled the worker for seconds.
    # Commits still wait for every record; this only bounds the memory the buffer may take.
    BUFFER_MAX_RECORDS = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer.max_messages = self.BUFFER_MAX_RECORDS

    def __post_init__(self) -> None:
        super().__post_init__()
        self._unacked: set[asyncio.Future] = set()
        self._refused = False

    def _track(self, fut: asyncio.Future) -> None:
        self._unacked.add(fut)
        fut.add_done_callback(self._settled)

    def _settled(self, fut: asyncio.Future) -> None:
        self._unacked.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            self._refused = True

    def all_acked(self) -> bool:
        """Every record produced so far is in the broker (none pending, none refused)."""
        return not self._unacked and not self._refused

    def send_soon(self, fut: FutureMessage) -> None:
        # Table writes: the future resolves when the broker acknowledged the record.
        self._track(fut)
        super().send_soon(fut)

    async def send(self, *args: Any, **kwargs: Any) -> Awaitable[RecordMetadata]:
        fut = await super().send(*args, **kwargs)
        self._track(asyncio.ensure_future(fut))
        return fut

    async def flush(self) -> None:
        """Wait for the records produced so far (not later ones: a commit must not starve)."""
        pending = set(self._unacked)
        await super().flush()
        waiting = pending
        while waiting:
            # While the broker is away the commit waits (stopping the worker cancels it, which
            # commits nothing); say so, so an operator sees why offsets stopped moving.
            _, waiting = await asyncio.wait(waiting, timeout=COMMIT_WAIT_REPORT_S)
            if waiting:
                log.warning("commit_waiting_for_acks", unacknowledged=len(waiting))
        for fut in pending:
            fut.result()  # a record the broker refused: the commit must fail, not skip it


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = _TunedConsumer
    Producer = AckTrackingProducer

    def __init__(self, *args: Any, fetch_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_wait_ms = fetch_wait_ms


class StreamsApp(faust.App):
    """faust.App on the `LowLatencyTransport`."""

    def __init__(self, *args: Any, fetch_wait_ms: int, **kwargs: Any) -> None:
        self._fetch_wait_ms = fetch_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return LowLatencyTransport(self.conf.broker_consumer, self, fetch_wait_ms=self._fetch_wait_ms)


def set_writing_event(event: EventT | None) -> None:
    """Table writes from now on (in this task) go to `event`'s changelog partition; None: nowhere."""
    _current_event.set(weakref.ref(event) if event is not None else None)


def committed_offsets(consumer: ConsumerT) -> Mapping[TP, int | None]:
    """The offset the group last committed on each partition, as this worker knows it."""
    return consumer._committed_offset  # type: ignore[attr-defined]  # item 5 above


class TypedRocksDBStore(RocksDBStore):
    """Faust's RocksDB store, reading values back as the table's schema types them (item 6)."""

    def _decode_value(self, value: bytes | None) -> Any:
        decoded = super()._decode_value(value)
        typed = getattr(self.table.schema, "typed", None)
        return typed(decoded) if typed is not None and decoded is not None else decoded


# The store URL that selects `TypedRocksDBStore` (a URL scheme may hold dots and dashes, not colons).
ROCKSDB_TYPED = "rocksdb-typed"
STORES.aliases[ROCKSDB_TYPED] = f"{__name__}:TypedRocksDBStore"
