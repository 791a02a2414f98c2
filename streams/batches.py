"""Batch processing for agents that update a table and publish notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import faust
from faust.types import EventT

from storepulse.contracts import Notification
from streams.publisher import NotificationPublisher

BATCH = 500
BATCH_WITHIN_S = 0.005

EventHandler = Callable[[EventT, datetime], Notification | None]


async def publish_per_batch(
    stream: faust.StreamT, publisher: NotificationPublisher, handle: EventHandler
) -> None:
    """Run `handle(event, now)` for every event; publish each batch's notifications at once.

    take_events batches for one Redis pipeline per batch and, unlike take(), lets `handle`
    write tables: a table write finds its changelog partition through the current event.
    """
    async for events in stream.take_events(BATCH, within=BATCH_WITHIN_S):
        now = datetime.now(UTC)
        out: list[Notification] = []
        for event in events:
            stream._set_current_event(event)
            note = handle(event, now)
            if note is not None:
                out.append(note)
        await publisher.publish(out)
