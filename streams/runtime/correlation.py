"""The webhook id a record carries, bound to structlog's context while an agent works on it, so
every log line about an event names the delivery it came from (as ingest's lines do)."""

from __future__ import annotations

import re

import structlog
from faust.types import EventT

# envelope_bytes writes webhook_id first, and re-keyed envelopes keep the order: reading it off the
# record's first bytes spares a second JSON decode of every record on the worker's hot path.
_ENVELOPE_WEBHOOK_ID = re.compile(rb'\{"webhook_id":"([^"\\]{1,100})"')


def webhook_id_of(value: object) -> str | None:
    """The webhook id of an envelope (bytes) or of a decoded record (a dict), if it has one."""
    if isinstance(value, bytes):
        found = _ENVELOPE_WEBHOOK_ID.match(value)
        return found.group(1).decode() if found else None
    if isinstance(value, dict):
        webhook_id = value.get("webhook_id")
        return webhook_id if isinstance(webhook_id, str) else None
    return None


def bind_webhook_id(webhook_id: str | None) -> None:
    """Log lines from now on (in this task) carry `webhook_id`; None: no webhook id."""
    if webhook_id is None:
        structlog.contextvars.unbind_contextvars("webhook_id")
    else:
        structlog.contextvars.bind_contextvars(webhook_id=webhook_id)


def bind_event(event: EventT | None) -> None:
    """Log lines from now on belong to `event`'s webhook; None: to no event."""
    bind_webhook_id(webhook_id_of(event.value) if event is not None else None)
