"""Helpers for push tests: notifications through the real publisher, own push processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import redis.asyncio as redis

from storepulse.contracts import Notification
from storepulse.devstack import Child, Stack, wait_ready
from streams.runtime.publisher import NotificationPublisher


def note(shop: str, n: int, *, kind: str = "purchase", lang: str = "en", message: str = "") -> Notification:
    return Notification(
        id=f"{kind}-{n}",
        shop=shop,
        kind=kind,
        title="t",
        message=message or f"m{n}",
        occurred_at=datetime.now(UTC),
        lang=lang,
    )


async def publish(redis_url: str, notifications: list[Notification]) -> list[str]:
    """Publish through the streams' Lua step; returns the stream ids."""
    client = redis.Redis.from_url(redis_url)
    try:
        ids = await NotificationPublisher(client, ttl_s=600, maxlen=100).publish(notifications)
    finally:
        await client.aclose()
    assert all(ids)
    return [i for i in ids if i]


@contextlib.contextmanager
def push_process(stack: Stack, name: str, port: int | None = None, **env: str) -> Iterator[Child]:
    child = stack.start_service("push", port, extra_env=env, name=name)
    try:
        wait_ready(child.port, 60, child)
        yield child
    finally:
        child.stop()


async def metric(url: str, name: str) -> float:
    """The sum of a Prometheus metric's samples named exactly `name` (any labels)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def raw_lines(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[str]:
    """Every line of an SSE response, comments included."""
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as client,
        client.stream("GET", url, headers=headers or {}) as response,
    ):
        response.raise_for_status()
        async for line in response.aiter_lines():
            yield line


async def eventually(check, timeout: float = 10.0, every: float = 0.1) -> None:
    """Wait until the async `check()` is truthy."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(every)
