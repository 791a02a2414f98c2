"""Notifications through the streams' real publisher, and push processes of a test's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import redis.asyncio as redis

from storepulse.contracts import Notification, NotificationKind
from storepulse.devstack import Child, Stack, wait_ready
from streams.runtime.publisher import NotificationPublisher


def note(
    shop: str, n: int, *, kind: NotificationKind = "purchase", lang: str = "en", message: str = ""
) -> Notification:
    return Notification(
        id=f"{kind}-{n}",
        shop=shop,
        kind=kind,
        title="t",
        message=message or f"m{n}",
        occurred_at=datetime.now(UTC),
        lang=lang,
    )


async def publish(redis_url: str, notifications: list[Notification], maxlen: int = 100) -> list[str]:
    """Publish through the streams' Lua step (`recent:{shop}` capped at `maxlen`); the stream ids."""
    client = redis.Redis.from_url(redis_url)
    try:
        ids = await NotificationPublisher(client, ttl_s=600, maxlen=maxlen).publish(notifications)
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
