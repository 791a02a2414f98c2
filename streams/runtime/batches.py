"""Batches of events for agents: one synchronous step per batch, applied record by record, and a
record that step cannot process dead-lettered without leaving a trace.

An agent takes its stream `async for batch in batches(stream)` and hands each batch to one step,
`batch.apply(step)`. The step iterates the batch and works out everything the batch changes: its
table writes go through `batch.staged(table)`, and what the agent must send or publish afterwards
is its return value, so the I/O happens once the step is done.

When the step raises on a record, that record goes to its topic's dead-letter topic
(streams/runtime/dead_letters.py, sent before the batch is acknowledged) and the step runs again
from the batch's start without it. Nothing of the failed run survives: its table writes were only
staged, and its own bookkeeping (outboxes, notifications) is rebuilt by the new run. Undoing just
the failed record instead would need every step's bookkeeping to know how to undo itself; a re-run
needs nothing but the staging. A batch with f bad records runs its step at most f + 1 times.

The failed record is the one being iterated, or the one the step named with
`batch.on_behalf_of(event)` for work after its loop. A failure outside any record is a bug in the
step, not in a record, and stops the agent as before.

Only the run that gets through every remaining record commits: each staged key is written once, as
the last event that wrote it (its changelog partition comes from that event). While the step runs
no event is the writing one, so a table write that bypasses the staging fails loudly.

The record being iterated (or named with `on_behalf_of`) also lends its webhook id to log lines
(streams/runtime/correlation.py), and each batch is measured: its size, and the agent's time
over it (streams/runtime/metrics.py).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import faust
import orjson
from faust.types import EventT, TableT

from storepulse.contracts import Notification
from streams.runtime.correlation import bind_event
from streams.runtime.dead_letters import DeadLetters, reason_of
from streams.runtime.faust_seam import set_writing_event
from streams.runtime.metrics import BatchTimer
from streams.runtime.publisher import NotificationPublisher
from streams.runtime.redis_retry import redis_step
from streams.runtime.rekey import PlacedBy, forget_shop, same_key

BATCH = 500
# How long a batch waits for more events. While a batch body runs, Faust delivers no events, so
# batches must be large enough for per-batch costs (Redis round trips, sends) to amortise: at
# 1,000 orders/s, 5 ms made batches of ~15 orders and the worker fell seconds behind; 20 ms keeps
# up, at ~15 ms of extra latency when traffic is light.
BATCH_WITHIN_S = 0.02

R = TypeVar("R")
_GONE = object()  # a staged deletion


def _copy(value: Any) -> Any:
    """A deep copy of a table value. A JSON value by an orjson round trip, 8x faster than deepcopy
    on a product's trend; a typed one (CustomerState) by deepcopy, which it makes cheap. orjson
    would turn a dataclass into a dict."""
    if not isinstance(value, dict):
        # A type's own __deepcopy__ directly: deepcopy's memo and keep-alive list cost more than
        # CustomerState's copy itself, and a table value holds no cycles to guard against.
        own = getattr(type(value), "__deepcopy__", None)
        return own(value, {}) if own is not None else copy.deepcopy(value)
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:  # what orjson does not encode (int keys, ints over 64 bits, deep nesting)
        return copy.deepcopy(value)


class Staged(MutableMapping[bytes, Any]):
    """A table as one run of a batch's step sees it: with the run's own writes, which reach the
    table only when the run commits."""

    def __init__(self, table: MutableMapping[bytes, Any], batch: EventBatch) -> None:
        self._table = table
        self._batch = batch
        self._writes: dict[bytes, tuple[EventT | None, Any]] = {}

    def __getitem__(self, key: bytes) -> Any:
        if key in self._writes:
            value = self._writes[key][1]
            if value is _GONE:
                raise KeyError(key)
            return value
        # A copy: steps change the states they read in place, and a failed run must not.
        return _copy(self._table[key])

    def __setitem__(self, key: bytes, value: Any) -> None:
        self._writes[key] = (self._batch.current, value)

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        self._writes[key] = (self._batch.current, _GONE)

    def __contains__(self, key: object) -> bool:
        if key in self._writes:
            return self._writes[key][1] is not _GONE
        return key in self._table

    def __iter__(self) -> Iterator[bytes]:
        yield from (key for key in self._table if key not in self._writes)
        yield from (key for key, (_, value) in self._writes.items() if value is not _GONE)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        for key, (event, value) in self._writes.items():
            set_writing_event(event)
            if value is _GONE:
                self._table.pop(key, None)
            else:
                self._table[key] = value
        set_writing_event(None)
        self._writes.clear()


@dataclass
class EventBatch:
    events: list[EventT]
    # Records the step could not process, with the reason; `batches` dead-letters them.
    failed: list[tuple[EventT, str]] = field(default_factory=list)
    current: EventT | None = None  # the record the step is working on (`on_behalf_of`)
    _skipped: set[int] = field(default_factory=set, init=False, repr=False)
    _staged: list[Staged] = field(default_factory=list, init=False, repr=False)

    def __iter__(self) -> Iterator[EventT]:
        for event in self.events:
            if id(event) not in self._skipped:
                self.current = event
                bind_event(event)
                yield event
        self.current = None
        bind_event(None)

    def __len__(self) -> int:
        return len(self.events)

    def on_behalf_of(self, event: EventT) -> None:
        """What the step does from now on (writes, a failure, log lines) belongs to `event`."""
        self.current = event
        bind_event(event)

    def staged(self, table: MutableMapping[bytes, Any]) -> Staged:
        """`table` for this run of the step (call it inside the step)."""
        staged = Staged(table, self)
        self._staged.append(staged)
        return staged

    def apply(self, step: Callable[[EventBatch], R]) -> R:
        """`step(self)`, run again without each record it raises on; its staged writes committed."""
        while True:
            self._staged, self.current = [], None
            try:
                result = step(self)
            except Exception as exc:
                if self.current is None:
                    raise
                self._skipped.add(id(self.current))
                self.failed.append((self.current, reason_of(exc)))
                continue
            self.current = None
            bind_event(None)
            for staged in self._staged:
                staged.commit()
            return result


async def batches(
    stream: faust.StreamT, size: int = BATCH, within_s: float = BATCH_WITHIN_S
) -> AsyncIterator[EventBatch]:
    """The stream's events, up to `size` at a time, waiting at most `within_s` for more."""
    dead_letters = DeadLetters(cast(faust.App, stream.app))
    timer = BatchTimer(stream.prefix or "unnamed")  # an agent's stream is prefixed with its name
    # StreamT does not declare take_events; every stream Faust hands an agent is a Stream, which has it.
    async for events in stream.take_events(size, within=within_s):  # type: ignore[attr-defined]
        batch = EventBatch(events)
        timer.start(events)
        yield batch
        timer.stop()
        # Here the agent is done with the batch and take_events has not acknowledged it yet.
        for event, reason in batch.failed:
            bind_event(event)  # the dead letter's log line names its webhook
            await dead_letters.record(event, reason)
        bind_event(None)


State = dict[str, Any]
# The (table key, item) pairs one event holds: a beacon is one item, a purchases record several.
Items = Callable[[EventT], Iterable[tuple[bytes, Any]]]
# An item folded into its key's state at `now`: the new state (None: unchanged) and what to announce.
Fold = Callable[[State | None, Any, datetime], tuple[State | None, Notification | None]]
# The shop an event's shop/redact names, or None for any other event.
RedactedShop = Callable[[EventT], str | None]


async def fold_per_batch(
    stream: faust.StreamT,
    table: TableT[bytes, State],
    publisher: NotificationPublisher,
    items: Items,
    fold: Fold,
    redacted: RedactedShop,
    placed_by: PlacedBy = same_key,
) -> None:
    """Fold every batch's items into `table`, writing each key once; publish the batch's notifications.

    A popular product gets many purchases or views per batch: one changelog record for all of them
    instead of one each. A shop/redact deletes the shop's keys on its partition (`placed_by` as in
    `forget_shop`), those the batch folded before it too.
    """

    partitions = table.partitions or table.app.conf.topic_partitions  # None: the app's default

    def step(batch: EventBatch) -> list[Notification]:
        now = datetime.now(UTC)
        states = batch.staged(table)
        out: list[Notification] = []
        for event in batch:
            shop = redacted(event)
            if shop is not None:
                forget_shop(states, shop, event.message.partition, partitions, placed_by)
                out = [n for n in out if n.shop != shop]
                continue
            for key, item in items(event):
                new_state, note = fold(states.get(key), item, now)
                if new_state is not None:
                    states[key] = new_state
                if note is not None:
                    out.append(note)
        return out

    async for batch in batches(stream):
        await redis_step(publisher.publish, batch.apply(step))
