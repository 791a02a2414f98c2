"""The audit log's read model: each shop's entries of the audit topic (keyed by shop) in Redis.

`audit:{shop}` is a sorted set whose members all score 0, so Redis orders them by their bytes:
`{entry id}\\t{entry JSON}`, and an entry id sorts as its time does (storepulse/audit.py). A
re-delivered entry is the same member again (idempotent); entries past the retention go with
each write; the app reads pages newest first by id (admin/audit.py).

compliance forwards a `shop/redact` onto the shop's partition of the topic: entries before it
go with the shop's key, in the order the topic holds them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import faust
import orjson
import redis.asyncio as redis

from shopify.topics import SHOP_REDACT
from storepulse import redis_keys
from storepulse.audit import AuditEntry, entry_id
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import TOPIC_AUDIT
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.redis_retry import redis_step

SEPARATOR = b"\t"


def member(entry: AuditEntry) -> bytes:
    return entry.id.encode() + SEPARATOR + entry.model_dump_json().encode()


class Written:
    """What one batch leaves to write: shops whose log goes, then each shop's new members."""

    def __init__(self) -> None:
        self.redacted: set[str] = set()
        self.members: dict[str, list[bytes]] = defaultdict(list)


def read(batch: EventBatch) -> Written:
    written = Written()
    for event in batch:
        value = orjson.loads(event.value or b"null")
        if isinstance(value, dict) and value.get("topic") == SHOP_REDACT:
            shop = decode_envelope(event.value)["shop"]
            written.redacted.add(shop)
            written.members.pop(shop, None)  # entries before the redaction go too
            continue
        entry = AuditEntry.model_validate(value)
        written.members[entry.shop].append(member(entry))
    return written


async def write(client: redis.Redis, written: Written, retention: timedelta) -> None:
    # Every id below this one is older than the retention ("(" excludes it: a bare prefix).
    oldest = b"(" + entry_id(datetime.now(UTC) - retention).split("-")[0].encode()
    async with client.pipeline(transaction=False) as pipe:
        for shop in written.redacted:
            pipe.delete(redis_keys.audit_log(shop))
        for shop, members in written.members.items():
            key = redis_keys.audit_log(shop)
            pipe.zadd(key, dict.fromkeys(members, 0))
            pipe.zremrangebylex(key, b"-", oldest)
        await pipe.execute()


def register(ctx: Context) -> faust.TopicT:
    topic = ctx.app.topic(TOPIC_AUDIT, key_type=bytes, value_type=bytes)
    retention = timedelta(days=ctx.settings.audit_retention_days)

    @ctx.app.agent(topic, name="audit-log")
    async def audit_log(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            written = batch.apply(read)
            if written.redacted or written.members:
                await redis_step(write, ctx.redis, written, retention)

    return topic
