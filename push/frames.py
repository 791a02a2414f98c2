"""SSE frames, encoded once per notification and shared by every client of a shop.

The channel message is the notification JSON with the `recent:{shop}` stream id spliced
in first as `"event_id"` (streams/runtime/publisher.py); replayed stream entries get the same
splice here, so live and replayed events are byte-identical. A live message may also carry the
webhook id that caused it, right after the event id: it is kept for push's log lines and cut out
of what clients receive.
"""

from __future__ import annotations

import re

from sse_starlette import ServerSentEvent

_PREFIX = b'{"event_id":"'
_PUBLISHED_AT = re.compile(rb'"published_at":(\d+(?:\.\d+)?)')
_WEBHOOK_ID = re.compile(rb'"webhook_id":"([^"\\]*)",')
# A Redis stream id as a client may send it back: ASCII digits (`\d` also takes other scripts')
# no longer than Redis's own (milliseconds, sequence) ever are, so XRANGE cannot refuse it.
_STREAM_ID = re.compile(r"[0-9]{1,15}-[0-9]{1,10}")

PING = ServerSentEvent(comment="ping").encode()


def retry_frame(retry_ms: int) -> bytes:
    """Tells the browser to reconnect after `retry_ms` (sent when a process drains)."""
    return ServerSentEvent(comment="server draining", retry=retry_ms).encode()


def stream_id_of(message: bytes) -> bytes:
    """The stream id at the head of a channel message (ValueError if it has none)."""
    if not message.startswith(_PREFIX):
        raise ValueError("channel message without event_id")
    end = message.index(b'"', len(_PREFIX))
    return message[len(_PREFIX) : end]


def message_from_entry(stream_id: bytes, payload: bytes) -> bytes:
    """The channel message a `recent:{shop}` entry was published as."""
    return _PREFIX + stream_id + b'",' + payload[1:]


def frame(stream_id: bytes, message: bytes) -> bytes:
    return b"id: " + stream_id + b"\nevent: notification\ndata: " + message + b"\n\n"


def id_tuple(stream_id: bytes | str) -> tuple[int, int]:
    """Redis stream ids order as (milliseconds, sequence)."""
    raw = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    ms, _, seq = raw.partition("-")
    return int(ms), int(seq or 0)


def valid_stream_id(value: str | None) -> str | None:
    """`value` when it is a well-formed stream id, else None (a bad Last-Event-ID is ignored)."""
    return value if value and _STREAM_ID.fullmatch(value) else None


class Event:
    """One notification as every client receives it: parsed and encoded once."""

    __slots__ = ("data", "id", "order", "published_at", "webhook_id")

    def __init__(self, message: bytes) -> None:
        self.id = stream_id_of(message)
        self.order = id_tuple(self.id)
        after_id = len(_PREFIX) + len(self.id) + 2  # past the id's closing `",`
        webhook = _WEBHOOK_ID.match(message, after_id)
        self.webhook_id = webhook.group(1).decode() if webhook else None
        if webhook:
            message = message[:after_id] + message[webhook.end() :]
        self.data = frame(self.id, message)
        found = _PUBLISHED_AT.search(message)
        # Epoch milliseconds stamped by the publisher (None for older producers).
        self.published_at = float(found.group(1)) if found else None

    @classmethod
    def from_entry(cls, stream_id: bytes, payload: bytes) -> Event:
        return cls(message_from_entry(stream_id, payload))
