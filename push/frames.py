"""SSE frames, encoded once per notification and shared by every client of a shop.

The channel message is the notification JSON with the `recent:{shop}` stream id spliced
in first as `"event_id"` (streams/publisher.py); replayed stream entries get the same
splice here, so live and replayed events are byte-identical.
"""

from __future__ import annotations

_PREFIX = b'{"event_id":"'


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
