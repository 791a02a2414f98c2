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
7. A rebalance's seek cannot be undone by a record of the generation before it (`ReadOffsets`,
   the private `Consumer._read_offset`). Faust's fetch loop reads a partition's read offset,
   hands the record to the streams (which may take seconds while a rebalance runs), then writes
   the record's offset back. When the partition was revoked and reassigned meanwhile, the seek to
   the committed offset had already happened and that write moved the read offset ahead again:
   the records re-fetched from the committed offset were dropped as already read, and Faust's gap
   logic, which takes a jump in offsets for compaction, committed past them. Measured in the chaos
   run (loadtests/chaos.py, worker kills only): 1-5 orders of 2,300 never applied, and partitions
   whose commits stopped at the hole until the next rebalance, minutes later.
8. A commit never passes a record that was not acknowledged (`_TunedConsumer._add_gap`,
   `_new_offset`, both private). Faust takes a jump in a partition's offsets for compaction and
   commits over it, and commits past the committed offset's own record when only that one is
   missing; but around a rebalance it also hands on records out of order (it resumes the streams
   before Recovery seeks, and compares generations only after a fetch returned), so a jump may be
   records nobody processed. Outside the compacted topics a jump now holds the commit back, and a
   hole that lasts `HOLE_REFETCH_S` is fetched again from the committed offset (the agents skip
   what they already applied), so at-least-once holds whatever order records arrive in; a record
   delivered twice no longer keeps a rebalance waiting for its second acknowledgement (`ack`).
9. A record dropped from a stream's queue by a rebalance no longer keeps the rebalance waiting
   (`ReleasingQueue`, `_TunedConsumer.abandon`). A record of a topic two agents read (the orders
   topic: orders and analytics-feed) is delivered to both agents' queues and acknowledged once
   both are done with it. A rebalance empties every queue (`flow_control.clear()`) and then waits
   for every record a stream started on (`wait_empty`): a record one agent had taken while its
   copy still sat in the other's queue was never acknowledged, and the revoking worker waited
   forever, with the group (measured: the chaos run's worker kills, seeds 31337 and 694112). The
   dropped copy now releases its record, which is not acknowledged either: the commit stops
   before it and the new owner, seeking to the committed offset, reads it again.
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
from faust.transport.consumer import RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, ConsumerT, EventT, Message, RecordMetadata, TransportT
from faust.types.tuples import FutureMessage
from mode.utils.queues import ThrowableQueue

from storepulse.kafka_topics import COMPACTED_TOPICS

log = structlog.get_logger(__name__)

HIGHWATER_PROBE_TIMEOUT_S = 10.0
# A record missing at a partition's committed offset for this long is fetched again (item 8):
# longer than acknowledgements arriving out of order between agents take.
HOLE_REFETCH_S = 5.0
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


def _running_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # the consumer thread's seeks run without a task
        return None


class ReadOffsets(dict[TP, int | None]):
    """`Consumer._read_offset` in which a write from the fetch loop is dropped when the partition
    was seeked (or revoked) after the loop read it (item 7).

    Faust's fetch loop reads an offset and later writes one, in one task; every other write (a
    seek's, from any task or the consumer thread) starts a new epoch for its partition, and a
    fetch-loop write of an earlier epoch is stale.
    """

    def __init__(self) -> None:
        super().__init__()
        self._epochs: dict[TP, int] = {}
        self._reads: dict[TP, tuple[asyncio.Task | None, int]] = {}

    def __missing__(self, tp: TP) -> None:
        return None  # Faust's own is defaultdict(lambda: None)

    def __getitem__(self, tp: TP) -> int | None:
        self._reads[tp] = (_running_task(), self._epochs.get(tp, 0))
        return super().__getitem__(tp)

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        read = self._reads.get(tp)
        if read is not None and read[0] is not None and read[0] is _running_task():
            del self._reads[tp]
            if read[1] != self._epochs.get(tp, 0):
                return  # the record was read before a seek: the seek's offset stands
        else:
            self._new_epoch(tp)
        super().__setitem__(tp, offset)

    def __delitem__(self, tp: TP) -> None:
        self._new_epoch(tp)
        super().__delitem__(tp)

    def pop(self, tp: TP, *default: Any) -> Any:
        self._new_epoch(tp)
        return super().pop(tp, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for tp, offset in dict(*args, **kwargs).items():
            self._new_epoch(tp)
            super().__setitem__(tp, offset)

    def _new_epoch(self, tp: TP) -> None:
        self._epochs[tp] = self._epochs.get(tp, 0) + 1


class _TunedConsumer(faust_aiokafka.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = ReadOffsets()  # before the fetch loop binds its methods
        # Partitions whose commit waits for a record never acknowledged: (its offset, since when).
        self._holes: dict[TP, tuple[int, float]] = {}
        # Records a rebalance dropped from some stream's queue, still in another stream's hands.
        self._abandoned: weakref.WeakSet[Message] = weakref.WeakSet()

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def abandon(self, message: Message) -> None:
        """One stream's copy of `message` was dropped unread (item 9): once no stream holds it,
        it stops being waited for, without being acknowledged."""
        if message.acked:
            return
        if message.decref() == 0:
            self._forget(message)
        else:
            self._abandoned.add(message)

    def _forget(self, message: Message) -> None:
        message.acked = True  # done with here; its offset is read again after the rebalance's seek
        self._abandoned.discard(message)
        self._unacked_messages.discard(message)

    def ack(self, message: Message) -> bool:
        # Checked only while some record is abandoned: a WeakSet lookup costs a weakref per ack.
        if self._abandoned and message in self._abandoned:
            self._forget(message)
            return False
        acked = bool(super().ack(message))
        # Faust forgets a message it waits for only when its offset is new: a record delivered
        # again (fetched anew from the committed offset) kept the next rebalance waiting for it
        # forever (`wait_empty`), and the group with it (item 8).
        self._unacked_messages.discard(message)
        return acked

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # A jump in offsets is a gap only where compaction removes records; anywhere else it is
        # records not handed on, which must hold the commit back (item 8).
        if tp.topic in COMPACTED_TOPICS:
            await super()._add_gap(tp, offset_from, offset_to)

    def _new_offset(self, tp: TP) -> int | None:
        committed = self._committed_offset.get(tp)
        acked = self._acked.get(tp)
        if acked and committed is not None and tp.topic not in COMPACTED_TOPICS and min(acked) > committed:
            # Faust would commit past `committed` when only it is missing (it allows one).
            if any(m.tp == tp and m.offset == committed for m in self._unacked_messages):
                self._holes.pop(tp, None)  # in an agent's hands: it will be acknowledged
            else:
                self._holes.setdefault(tp, (committed, time.monotonic()))
            return None
        self._holes.pop(tp, None)
        return super()._new_offset(tp)

    async def _wait_next_records(self, timeout: float) -> tuple[RecordMap | None, set[TP] | None]:
        # In the fetch loop's own task, so the seek is not raced by a record it is handing on.
        now = time.monotonic()
        for tp, (committed, since) in list(self._holes.items()):
            if now - since >= HOLE_REFETCH_S and self._committed_offset.get(tp) == committed:
                self._holes[tp] = (committed, now)
                if tp in self.assignment():
                    log.warning(
                        "partition_hole_refetched", topic=tp.topic, partition=tp.partition, offset=committed
                    )
                    await self._seek(tp, committed)
                    self._read_offset.update({tp: committed})
        return await super()._wait_next_records(timeout)


class ReleasingQueue(ThrowableQueue):
    """A stream's queue whose events, when a rebalance drops them, release their records (item 9)."""

    def __init__(self, *args: Any, app: faust.App, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = app

    def clear(self) -> None:
        for value in self._queue:  # type: ignore[attr-defined]  # asyncio.Queue's deque
            self._release(value)
        super().clear()  # also cancels the puts waiting for room, which `put` releases

    async def put(self, value: Any) -> None:
        try:
            await super().put(value)
        except asyncio.CancelledError:
            self._release(value)
            raise

    def _release(self, value: Any) -> None:
        if isinstance(value, EventT):
            cast(_TunedConsumer, self._app.consumer).abandon(value.message)


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

    def FlowControlQueue(
        self, maxsize: int | None = None, *, clear_on_resume: bool = False
    ) -> ThrowableQueue:
        return ReleasingQueue(
            maxsize=maxsize, flow_control=self.flow_control, clear_on_resume=clear_on_resume, app=self
        )


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
