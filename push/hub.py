"""One Redis subscription per process, fanned out to every connected client of a shop."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import defaultdict

import redis.asyncio as redis
import structlog

from push.frames import stream_id_of
from storepulse.contracts import notification_channel

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = b"notifications:"


class Subscriber:
    """A client's bounded inbox. A client that falls `maxsize` behind is dropped, never waited on."""

    def __init__(self, shop: str, maxsize: int) -> None:
        self.shop = shop
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()

    def offer(self, message: bytes) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class Hub:
    """Reference-counted channel subscriptions on one pub/sub connection.

    A heartbeat published on a channel of our own proves the connection is alive: redis-py's
    health checks miss a silently dead socket (DESIGN.md).
    """

    def __init__(self, client: redis.Redis, *, queue_size: int = 64, heartbeat_s: float = 2.0) -> None:
        self._client = client
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._queue_size = queue_size
        self._heartbeat_s = heartbeat_s
        self._heartbeat_channel = f"storepulse:push-heartbeat:{os.getpid()}:{id(self)}"
        self._last_beat = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._beat())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(redis.RedisError, OSError):
            await self._pubsub.aclose()

    async def join(self, shop: str) -> Subscriber:
        sub = Subscriber(shop, self._queue_size)
        first = not self._subscribers[shop]
        self._subscribers[shop].add(sub)
        if first and self.connected.is_set():
            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub.subscribe(notification_channel(shop))
        return sub

    async def leave(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.shop)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subscribers[sub.shop]
            if self.connected.is_set():
                with contextlib.suppress(redis.RedisError, OSError):
                    await self._pubsub.unsubscribe(notification_channel(sub.shop))

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        if not channel.startswith(CHANNEL_PREFIX):
            self._last_beat = asyncio.get_running_loop().time()
            return
        try:
            stream_id_of(data)
        except ValueError:
            log.warning("push_bad_message", channel=channel.decode(errors="replace"))
            return
        for sub in self._subscribers.get(channel[len(CHANNEL_PREFIX) :].decode(), ()):
            sub.offer(data)

    async def _connect(self) -> None:
        channels = [self._heartbeat_channel, *map(notification_channel, self._subscribers)]
        await self._pubsub.subscribe(*channels)
        self._last_beat = asyncio.get_running_loop().time()
        self.connected.set()

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._connect()
                backoff = 0.1
                while True:
                    msg = await self._pubsub.get_message(timeout=1.0)
                    if msg is not None and msg["type"] == "message":
                        self._dispatch(msg["channel"], msg["data"])
                    silent = asyncio.get_running_loop().time() - self._last_beat
                    if silent > self._heartbeat_s * 3:
                        raise ConnectionError(f"no heartbeat for {silent:.1f}s")
            except (redis.RedisError, OSError) as exc:
                self.connected.clear()
                log.warning("push_redis_lost", error=str(exc), retry_in=backoff)
                with contextlib.suppress(redis.RedisError, OSError):
                    await self._pubsub.aclose()
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _beat(self) -> None:
        while True:
            with contextlib.suppress(redis.RedisError, OSError):
                await self._client.publish(self._heartbeat_channel, b"1")
            await asyncio.sleep(self._heartbeat_s)
