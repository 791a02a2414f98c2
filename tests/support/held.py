"""Everything StorePulse holds, read back to find what it still holds of a redacted subject.

Tables are read from their changelogs (the latest value of each key, a tombstone dropping it),
the compacted `shop.settings` topic likewise, and Redis key by key with whatever the key holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import redis.asyncio as redis
from aiokafka.admin import AIOKafkaAdminClient

from storepulse.devstack import Stack
from storepulse.kafka_topics import TOPIC_SHOP_SETTINGS
from tests.support.kafka import bootstrap, read

# (place, key) → value; the place is a topic, or "redis".
Held = dict[tuple[str, bytes], bytes]


async def changelogs(stack: Stack, app_id: str) -> list[str]:
    """The changelog topic of every table of the worker `app_id`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(stack))
    await admin.start()
    try:
        topics = await admin.list_topics()
    finally:
        await admin.close()
    return sorted(t for t in topics if t.startswith(f"{app_id}-") and t.endswith("-changelog"))


async def latest_values(stack: Stack, topics: list[str]) -> Held:
    """The latest value of every key of `topics`, read to their end."""
    held: Held = {}
    for r in await read(bootstrap(stack), topics):
        if r.value is None:
            held.pop((r.topic, r.key), None)
        else:
            held[(r.topic, r.key)] = r.value
    return held


async def redis_values(client: redis.Redis) -> Held:
    """Every Redis key with what it holds, whatever its type, as one byte string."""
    held: Held = {}
    async for key in client.scan_iter(count=1000):
        kind = (await client.type(key)).decode()
        if kind == "string":
            parts = [await client.get(key) or b""]
        elif kind == "hash":
            parts = [b for kv in (await client.hgetall(key)).items() for b in kv]
        elif kind == "list":
            parts = await client.lrange(key, 0, -1)
        elif kind == "set":
            parts = list(await client.smembers(key))
        elif kind == "zset":
            parts = await client.zrange(key, 0, -1)
        elif kind == "stream":
            parts = [b for _, fields in await client.xrange(key) for kv in fields.items() for b in kv]
        else:
            continue  # gone between SCAN and TYPE
        held[("redis", key)] = b"\0".join(parts)
    return held


async def everything(stack: Stack, app_id: str, client: redis.Redis) -> Held:
    """Every table of the worker `app_id`, the shop settings topic, and Redis."""
    tables = await latest_values(stack, [*await changelogs(stack, app_id), TOPIC_SHOP_SETTINGS])
    return {**tables, **await redis_values(client)}


def naming(held: Held, pattern: re.Pattern[bytes]) -> Held:
    """The entries whose key or value `pattern` finds."""
    return {k: v for k, v in held.items() if pattern.search(k[1]) or pattern.search(v)}


def places(found: Held, app_id: str) -> set[str]:
    """Where entries are: a table (`{app_id}-{table}-changelog`), a topic, or `redis`."""
    changelog = re.compile(re.escape(app_id) + r"-(.+)-changelog")
    return {m.group(1) if (m := changelog.fullmatch(place)) else place for place, _ in found}


def shop_pattern(shop: str) -> re.Pattern[bytes]:
    """The shop's domain, not as the tail of a longer one (`my{shop}`)."""
    return re.compile(rb"(?<![a-z0-9-])" + re.escape(shop.encode()))


def ids_pattern(ids: Iterable[object]) -> re.Pattern[bytes]:
    """Any of these ids as a whole number, not inside a longer one."""
    return re.compile(rb"(?<!\d)(?:" + b"|".join(re.escape(str(i).encode()) for i in ids) + rb")(?!\d)")
