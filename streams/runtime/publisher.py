"""Idempotent notification publishing (one Lua step does SET NX, XADD, PUBLISH and counts the
day's notifications), and withdrawal."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import redis.asyncio as redis
import structlog

from storepulse.contracts import Notification
from storepulse.redis_client import StreamEntries
from storepulse.redis_keys import notification_channel, notification_days, notified, recent_stream
from streams.runtime.metrics import NOTIFICATIONS_PUBLISHED

log = structlog.get_logger(__name__)

# KEYS: dedupe marker, recent stream, per-day counts. ARGV: payload, ttl, maxlen, channel, webhook
# id field, UTC day.
# The channel message is the payload with the stream id spliced in as "event_id", so a
# push process learns the SSE id without a second round trip, and then the webhook id (for push's
# log lines; push cuts it out before any client sees the message, push/frames.py). The stream
# entry holds only the payload: what a reconnecting storefront replays.
_PUBLISH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'n', ARGV[1])
  redis.call('PUBLISH', ARGV[4], '{"event_id":"' .. id .. '",' .. ARGV[5] .. string.sub(ARGV[1], 2))
  redis.call('HINCRBY', KEYS[3], ARGV[6], 1)
  return id
end
return false
"""
# Ids spliced into JSON unescaped must need no escaping (Shopify's are UUIDs).
_PLAIN_ID = re.compile(r"[\w.:-]{1,100}", re.ASCII)


def webhook_id_field(webhook_id: str | None) -> str:
    """The `"webhook_id":"…",` the channel message carries, or nothing."""
    return f'"webhook_id":"{webhook_id}",' if webhook_id and _PLAIN_ID.fullmatch(webhook_id) else ""


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
                    args=[
                        n.model_dump_json(),
                        self._ttl,
                        self._maxlen,
                        notification_channel(n.shop),
                        webhook_id_field(n.webhook_id),
                        day,
                    ],
                    client=pipe,
                )
            results = await pipe.execute()
        ids = [r.decode() if isinstance(r, bytes) else r for r in results]
        for n, stream_id in zip(notifications, ids, strict=True):
            if stream_id is not None:
                NOTIFICATIONS_PUBLISHED.labels(n.kind).inc()
            # A repeat (a re-delivery, or another consumer group's worker first) is logged too, so
            # every event's path shows in the logs whichever worker published it.
            log.debug(
                "notification_published" if stream_id is not None else "notification_repeated",
                shop=n.shop,
                kind=n.kind,
                notification_id=n.id,
                event_id=stream_id,
                webhook_id=n.webhook_id,
            )
        return ids

    async def withdraw(self, shop: str, notification_ids: set[str]) -> int:
        """Delete these notifications from the shop's replay stream; how many were there."""
        return await self._withdraw_where(shop, lambda n: n.get("id") in notification_ids)

    async def withdraw_naming(self, shop: str, product_ids: set[str]) -> int:
        """Delete the notifications naming these products from the shop's replay stream; how many."""
        return await self._withdraw_where(
            shop, lambda n: str((n.get("product") or {}).get("id")) in product_ids
        )

    async def _withdraw_where(self, shop: str, doomed_if: Callable[[dict[str, Any]], bool]) -> int:
        stream = recent_stream(shop)
        doomed = [
            entry_id
            for entry_id, fields in cast(StreamEntries, await self._client.xrange(stream))
            if doomed_if(orjson.loads(fields[b"n"]))
        ]
        if doomed:
            await self._client.xdel(stream, *doomed)
        return len(doomed)
