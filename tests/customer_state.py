"""Reading what streams keep about customers, as the admin API and the merchant see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as redis

from storepulse import redis_keys
from storepulse.devstack import Stack


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy; its last answer otherwise (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await check()
        if answer or time.monotonic() > deadline:
            assert answer, f"not reached in {timeout}s: {answer!r}"
            return answer
        await asyncio.sleep(0.1)


def redis_client(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.env["REDIS_URL"])


async def vips(client: redis.Redis, shop: str) -> dict[str, dict[str, Any]]:
    raw = await client.hgetall(redis_keys.vips(shop))
    return {k.decode(): orjson.loads(v) for k, v in raw.items()}


async def segments(client: redis.Redis, shop: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (await client.hgetall(redis_keys.segments(shop))).items()}


async def data_requests(client: redis.Redis, shop: str) -> dict[str, dict[str, Any]]:
    raw = await client.hgetall(redis_keys.data_requests(shop))
    return {k.decode(): orjson.loads(v) for k, v in raw.items()}
