"""Records an agent cannot process: each to `<its topic>.dlq` with the reason, counted, logged.

A dead letter keeps the record's key (so it lands on the partition its record came from) and holds
the record's value as text, so an operator can read why and produce it again once the cause is
fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import structlog
from faust.types import EventT

from storepulse.kafka_topics import dead_letter_topic
from streams.runtime.metrics import DEAD_LETTERS

log = structlog.get_logger(__name__)

# A reason quotes an exception, which may quote the record: bounded, like the logs it goes into.
MAX_REASON_CHARS = 500


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_REASON_CHARS]


class DeadLetters:
    """The dead-letter topics of one app, declared on first use (internal topics have no other)."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._topics: dict[str, faust.TopicT] = {}

    async def send(self, topic: str, key: bytes | None, value: dict[str, Any]) -> None:
        """`value` (holding its `reason`) to `topic`'s dead-letter topic, keyed `key`."""
        dlq = self._topics.get(topic)
        if dlq is None:
            name = dead_letter_topic(topic)
            dlq = self._topics[topic] = self._app.topic(name, key_type=bytes, value_type=bytes)
        await dlq.maybe_declare()
        await dlq.send(key=key, value=orjson.dumps(value))
        DEAD_LETTERS.labels(topic=topic).inc()
        shown_key = key.decode(errors="backslashreplace") if key is not None else None
        log.warning("dead_lettered", topic=topic, key=shown_key, reason=value.get("reason"))

    async def record(self, event: EventT, reason: str) -> None:
        """The event's record, as it came, with `reason` and where it was."""
        message = event.message
        raw = message.value
        await self.send(
            message.topic,
            message.key,
            {
                "reason": reason,
                "failed_at": datetime.now(UTC).isoformat(),
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                # Records are JSON text; anything else keeps its bytes as escapes.
                "value": raw.decode(errors="backslashreplace") if raw is not None else None,
            },
        )
