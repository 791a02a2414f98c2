"""Audit entries of actions that took effect while Kafka was unreachable, kept until it is back.

An action is recorded after it took effect, so its entry can say what changed. If the audit topic
then refuses the entry, the action is done and must not be reported as failed, nor its entry
lost: it waits in the Redis stream `audit-outbox`, and every ingest process drains that stream
into the topic. A consumer group hands each entry to one process, which acknowledges it only once
the broker holds it; entries a process took and did not acknowledge (it died, or the broker went
away again) are claimed by any process after `CLAIM_IDLE_MS`. An entry sent twice is the same
member of the audit read model (streams/agents/audit_log.py), so at-least-once is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import cast

import redis.asyncio as redis
import structlog

from ingest.producer import BrokerUnavailable, DurableProducer
from storepulse.kafka_topics import TOPIC_AUDIT
from storepulse.redis_client import StreamEntries
from storepulse.redis_keys import AUDIT_OUTBOX

log = structlog.get_logger(__name__)

GROUP = "audit-topic"
# Entries taken by a process and not acknowledged for this long are taken over by another.
CLAIM_IDLE_MS = 30_000
DRAIN_EVERY_S = 2.0
BATCH = 100


class AuditOutbox:
    def __init__(self, client: redis.Redis, producer: DurableProducer) -> None:
        self._client = client
        self._producer = producer
        self._consumer = uuid.uuid4().hex  # this process, in the group
        self._task: asyncio.Task[None] | None = None

    async def hold(self, key: bytes, value: bytes) -> None:
        """Keep an entry the audit topic refused (`key`, `value` as they would have been produced)."""
        await self._client.xadd(AUDIT_OUTBOX, {"k": key, "v": value})
        log.warning("audit_entry_held", reason="broker unavailable")

    async def drain(self) -> int:
        """Send what waits to the audit topic; the number sent (stops at the first refusal)."""
        # Taking entries while the broker is still out would leave them with this process until
        # `CLAIM_IDLE_MS` passed, so take none until it answers.
        if not await self._client.xlen(AUDIT_OUTBOX) or not await self._producer.reachable():
            return 0
        await self._ensure_group()
        sent = 0
        while True:
            entries = await self._take()
            if not entries:
                return sent
            for entry_id, fields in entries:
                try:
                    await self._producer.send(TOPIC_AUDIT, fields[b"k"], fields[b"v"])
                except BrokerUnavailable:
                    return sent  # still out: what is left is claimed again later
                await self._client.xack(AUDIT_OUTBOX, GROUP, entry_id)
                await self._client.xdel(AUDIT_OUTBOX, entry_id)
                sent += 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-outbox")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                if sent := await self.drain():
                    log.info("audit_entries_sent", count=sent)
            except (redis.RedisError, OSError) as exc:
                log.warning("audit_outbox_unreachable", error=type(exc).__name__)
            await asyncio.sleep(DRAIN_EVERY_S)

    async def _take(self) -> StreamEntries:
        # Another process's unacknowledged entries first (and this one's own, after a refusal).
        claimed = await self._client.xautoclaim(
            AUDIT_OUTBOX, GROUP, self._consumer, CLAIM_IDLE_MS, count=BATCH
        )
        entries = [e for e in cast(StreamEntries, claimed[1]) if e[1]]  # deleted ones come back empty
        if entries:
            return entries
        fresh = await self._client.xreadgroup(GROUP, self._consumer, {AUDIT_OUTBOX: ">"}, count=BATCH)
        return [entry for _, stream in cast(list[tuple[bytes, StreamEntries]], fresh) for entry in stream]

    async def _ensure_group(self) -> None:
        try:
            await self._client.xgroup_create(AUDIT_OUTBOX, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
