"""The step of a stateless agent: each envelope of a batch → at most one notification."""

from __future__ import annotations

from collections.abc import Callable

from storepulse.contracts import Notification
from storepulse.envelope import Envelope, decode_envelope
from streams.runtime.batches import EventBatch


def envelope_notifications(
    events: EventBatch, notify: Callable[[Envelope], Notification | None]
) -> list[Notification]:
    """`notify`'s notifications for the batch's envelopes, each tagged with its delivery for logs."""
    out: list[Notification] = []
    for event in events:
        envelope = decode_envelope(event.value)
        note = notify(envelope)
        if note is not None:
            note.webhook_id = envelope.get("webhook_id")
            out.append(note)
    return out
