"""Batches of events for agents, with table writes that always reach the right partition.

An agent takes its stream `async for batch in batches(stream)`. Iterating a batch makes each
event in turn the one table writes belong to; once the loop ends, no event is, so a write after it
fails loudly (Faust: "outside of stream iteration") unless it names its event with `batch.writing_as`.
The event being iterated also lends its webhook id to log lines (streams/runtime/correlation.py),
and each batch is measured (size and time, by agent: streams/runtime/metrics.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from storepulse.contracts import Notification
from streams.runtime.correlation import bind_event
from streams.runtime.faust_seam import set_writing_event
from streams.runtime.metrics import BatchTimer
from streams.runtime.publisher import NotificationPublisher

BATCH = 500
# How long a batch waits for more events. While a batch body runs, Faust delivers no events, so
# batches must be large enough for per-batch costs (Redis round trips, sends) to amortise: at
# 1,000 orders/s, 5 ms made batches of ~15 orders and the worker fell seconds behind; 20 ms keeps
# up, at ~15 ms of extra latency when traffic is light.
BATCH_WITHIN_S = 0.02


@dataclass(frozen=True)
class EventBatch:
    events: list[EventT]

    def __iter__(self) -> Iterator[EventT]:
        for event in self.events:
            set_writing_event(event)
            bind_event(event)
            yield event
        set_writing_event(None)
        bind_event(None)

    def __len__(self) -> int:
        return len(self.events)

    def writing_as(self, event: EventT) -> None:
        """Table writes from now on belong to `event` (a key written once for several events)."""
        set_writing_event(event)


async def batches(
    stream: faust.StreamT, size: int = BATCH, within_s: float = BATCH_WITHIN_S
) -> AsyncIterator[EventBatch]:
    """The stream's events, up to `size` at a time, waiting at most `within_s` for more."""
    timer = BatchTimer(stream.prefix or "unnamed")  # an agent's stream is prefixed with its name
    async for events in stream.take_events(size, within=within_s):
        timer.start(events)
        yield EventBatch(events)
        timer.stop()
        set_writing_event(None)
        bind_event(None)


State = dict[str, Any]
# The (table key, item) pairs one event holds: a beacon is one item, a purchases record several.
Items = Callable[[EventT], Iterable[tuple[bytes, Any]]]
# An item folded into its key's state at `now`: the new state (None: unchanged) and what to announce.
Fold = Callable[[State | None, Any, datetime], tuple[State | None, Notification | None]]


async def fold_per_batch(
    stream: faust.StreamT, table: faust.Table, publisher: NotificationPublisher, items: Items, fold: Fold
) -> None:
    """Fold every batch's items into `table`, writing each key once; publish the batch's notifications.

    A popular product gets many purchases or views per batch: one changelog record for all of them
    instead of one each. Batches span partitions, so each key is written as its last event.
    """
    async for batch in batches(stream):
        now = datetime.now(UTC)
        changed: dict[bytes, tuple[EventT, State]] = {}
        out: list[Notification] = []
        for event in batch:
            for key, item in items(event):
                state = changed[key][1] if key in changed else table.get(key)
                new_state, note = fold(state, item, now)
                if new_state is not None:
                    changed[key] = (event, new_state)
                if note is not None:
                    out.append(note)
        for key, (event, state) in changed.items():
            batch.writing_as(event)
            table[key] = state
        await publisher.publish(out)
