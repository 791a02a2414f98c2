"""Idempotent notification publishing (one Lua step does SET NX, XADD, PUBLISH and counts the
day's notifications), and withdrawal."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import orjson
import redis.asyncio as redis

from storepulse.contracts import Notification
from storepulse.redis_client import StreamEntries
from storepulse.redis_keys import notification_channel, notification_days, notified, recent_stream

# KEYS: dedupe marker, recent stream, per-day counts. ARGV: payload, ttl, maxlen, channel, UTC day.
# The channel message is the payload with the stream id spliced in as "event_id", so a
# push process learns the SSE id without a second round trip.
_PUBLISH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'n', ARGV[1])
  redis.call('PUBLISH', ARGV[4], '{"event_id":"' .. id .. '",' .. string.sub(ARGV[1], 2))
  redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
  return id
end
return false
"""


class NotificationPublisher:
    """Publishes batches of notifications in one pipeline; repeats are no-ops."""

    def __init__(self, client: redis.Redis, *, ttl_s: int, maxlen: int) -> None:
        self._client = client
        self._script = client.register_script(_PUBLISH)
        self._ttl = ttl_s
        self._maxlen = maxlen

    async def publish(self, notifications: Sequence[Notification]) -> list[str | None]:
        """Stream ids of the notifications published now (None for ones already published)."""
        if not notifications:
            return []
        day = datetime.now(UTC).date().isoformat()
        async with self._client.pipeline(transaction=False) as pipe:
            for n in notifications:
                n.published_at = time.time() * 1000
                await self._script(
                    keys=[notified(n.shop, n.id), recent_stream(n.shop), notification_days(n.shop)],
                    args=[n.model_dump_json(), self._ttl, self._maxlen, notification_channel(n.shop), day],
                    client=pipe,
                )
            results = await pipe.execute()
        return [r.decode() if isinstance(r, bytes) else r for r in results]

    async def withdraw(self, shop: str, notification_ids: set[str]) -> int:
        """Delete these notifications from the shop's replay stream; how many were there."""
        stream = recent_stream(shop)
        doomed = [
            entry_id
            for entry_id, fields in cast(StreamEntries, await self._client.xrange(stream))
            if orjson.loads(fields[b"n"]).get("id") in notification_ids
        ]
        if doomed:
            await self._client.xdel(stream, *doomed)
        return len(doomed)
