"""What the worker keeps in Redis, read as the admin API and the merchant see it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import redis.asyncio as redis

from storepulse import redis_keys
from storepulse.devstack import Stack


@contextlib.asynccontextmanager
async def redis_of(stack: Stack) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        yield client
    finally:
        await client.aclose()


async def vips(client: redis.Redis, shop: str) -> dict[str, dict[str, Any]]:
    raw = await client.hgetall(redis_keys.vips(shop))
    return {k.decode(): orjson.loads(v) for k, v in raw.items()}


async def segments(client: redis.Redis, shop: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (await client.hgetall(redis_keys.segments(shop))).items()}


async def data_requests(client: redis.Redis, shop: str) -> dict[str, dict[str, Any]]:
    raw = await client.hgetall(redis_keys.data_requests(shop))
    return {k.decode(): orjson.loads(v) for k, v in raw.items()}


async def recent_messages(client: redis.Redis, shop: str) -> list[str]:
    """The notifications a storefront's first visit replays from, oldest first."""
    return [fields[b"n"].decode() for _, fields in await client.xrange(redis_keys.recent_stream(shop))]
