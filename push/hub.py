"""One Redis subscription per process, fanned out to every connected client of a shop.

Channels are reference-counted: a shop's channel is subscribed while it has a client. Each
channel message is parsed and framed once (`Event`) and the same bytes go to every client.
After a Redis outage the hub resubscribes and replays what each client missed from
`recent:{shop}`, so a client sees every event once, in order, whichever path brought it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import defaultdict
from typing import cast

import redis.asyncio as redis
import structlog

from push import metrics
from push.client import Client
from push.frames import Event, id_tuple, retry_frame
from storepulse.redis_client import StreamEntries
from storepulse.redis_keys import (
    NOTIFICATION_CHANNEL_PREFIX,
    notification_channel,
    push_heartbeat,
    recent_stream,
)

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = NOTIFICATION_CHANNEL_PREFIX.encode()
TICK_S = 0.25
LARGEST_SHOP_EVERY_TICKS = 4  # the busiest shop's client count, refreshed every second


class Hub:
    """Reference-counted channel subscriptions on one pub/sub connection.

    A heartbeat published on a channel of our own proves the connection is alive: redis-py's
    health checks miss a silently dead socket (docs/architecture.md).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        initial_backlog: int = 3,
        replay_limit: int = 100,
        ping_s: float = 15.0,
        retry_ms: int = 2000,
        heartbeat_s: float = 2.0,
    ) -> None:
        self._client = client
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._clients: dict[str, set[Client]] = defaultdict(set)
        self._initial_backlog = initial_backlog
        # As many as `recent:{shop}` keeps (its MAXLEN): a client back after a long cut still gets
        # every event the stream holds after its Last-Event-ID.
        self._replay_limit = replay_limit
        self._ping_s = ping_s
        self._retry_ms = retry_ms
        self._heartbeat_s = heartbeat_s
        self._heartbeat_channel = push_heartbeat(f"{os.getpid()}:{id(self)}")
        self._last_beat = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.draining = False

    @property
    def clients(self) -> dict[str, set[Client]]:
        return self._clients

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._beat()),
            asyncio.create_task(self._housekeeping()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(redis.RedisError, OSError):
            await self._pubsub.aclose()

    async def join(self, client: Client, last_id: str | None) -> None:
        """Register `client`, then replay its backlog. Subscribing first loses nothing."""
        shop = client.shop
        first = not self._clients[shop]
        self._clients[shop].add(client)
        metrics.CONNECTIONS.inc()
        metrics.shop_resized(len(self._clients[shop]) - 1, len(self._clients[shop]))
        if first and self.connected.is_set():
            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub.subscribe(notification_channel(shop))
        if last_id:
            client.last_order = id_tuple(last_id)
        try:
            events = await self._backlog(shop, last_id)
        except (redis.RedisError, OSError):
            return  # Redis is down: the hub replays for this client once it reconnects
        metrics.REPLAYED.inc(client.replay(events))

    async def leave(self, client: Client) -> None:
        metrics.CONNECTIONS.dec()
        if client.drop_reason:
            metrics.DISCONNECTS.labels(client.drop_reason).inc()
            log.info("push_client_dropped", reason=client.drop_reason, shop=client.shop)
        clients = self._clients.get(client.shop)
        if clients is None or client not in clients:
            return
        clients.discard(client)
        metrics.shop_resized(len(clients) + 1, len(clients))
        if not clients:
            del self._clients[client.shop]
            if self.connected.is_set():
                with contextlib.suppress(redis.RedisError, OSError):
                    await self._pubsub.unsubscribe(notification_channel(client.shop))

    async def _backlog(self, shop: str, last_id: str | None) -> list[Event]:
        """Entries after `last_id`, or the newest few for a first visit."""
        key = recent_stream(shop)
        if last_id:
            entries = cast(
                StreamEntries,
                await self._client.xrange(key, min=f"({last_id}", max="+", count=self._replay_limit),
            )
        elif self._initial_backlog > 0:
            newest = cast(StreamEntries, await self._client.xrevrange(key, count=self._initial_backlog))
            entries = list(reversed(newest))
        else:
            entries = []
        return [Event.from_entry(sid, fields[b"n"]) for sid, fields in entries if b"n" in fields]

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        if not channel.startswith(CHANNEL_PREFIX):
            self._last_beat = asyncio.get_running_loop().time()
            return
        shop = channel[len(CHANNEL_PREFIX) :].decode()
        clients = self._clients.get(shop)
        if not clients:
            return
        try:
            event = Event(data)
        except ValueError:
            log.warning("push_bad_message", channel=channel.decode(errors="replace"))
            return
        delivered = 0
        for client in clients:
            delivered += client.deliver(event)
        metrics.DELIVERED.inc(delivered)
        if len(clients) > delivered:
            metrics.DROPPED.inc(len(clients) - delivered)
        log.debug(
            "notification_delivered",
            shop=shop,
            event_id=event.id.decode(),
            webhook_id=event.webhook_id,
            clients=delivered,
            dropped=len(clients) - delivered,
        )
        if event.published_at is not None:
            # Runs after the writes this fan-out woke: publish → last write of this event.
            asyncio.get_running_loop().call_soon(metrics.observe_delivery, event.published_at)

    async def _connect(self) -> None:
        for clients in self._clients.values():
            for client in clients:
                client.resync()
        subscribed = set(self._clients)
        await self._pubsub.subscribe(self._heartbeat_channel, *map(notification_channel, subscribed))
        # Shops that got their first client while we were subscribing.
        while missing := set(self._clients) - subscribed:
            subscribed |= missing
            await self._pubsub.subscribe(*map(notification_channel, missing))
        self._last_beat = asyncio.get_running_loop().time()
        self.connected.set()
        await self._catch_up()

    async def _catch_up(self) -> None:
        """Replay to every client what it missed while the subscription was down."""
        groups: dict[tuple[str, tuple[int, int] | None], list[Client]] = defaultdict(list)
        for shop, clients in list(self._clients.items()):
            for client in clients:
                if client.syncing:
                    groups[shop, client.last_order].append(client)
        for (shop, order), members in groups.items():
            last_id = f"{order[0]}-{order[1]}" if order else None
            events = await self._backlog(shop, last_id)
            for client in members:
                metrics.REPLAYED.inc(client.replay(events))

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._connect()
                if backoff > 0.1:
                    log.info("push_redis_reconnected")
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
                metrics.REDIS_RECONNECTS.inc()
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

    async def _housekeeping(self) -> None:
        """Pings for idle clients (which also expose stalled sockets) and the drain on SIGTERM.

        Each ping interval visits every client once, a slice per tick, so 10k clients never
        get 10k pings in one burst; a client written to since the last visit needs no ping.
        """
        from sse_starlette.sse import AppStatus  # sets should_exit when uvicorn gets SIGTERM

        ticks = max(1, round(self._ping_s / TICK_S))
        ring: list[Client] = []
        tick = 0
        while not AppStatus.should_exit:
            await asyncio.sleep(TICK_S)
            if tick % ticks == 0:
                ring = [client for clients in self._clients.values() for client in clients]
            if tick % LARGEST_SHOP_EVERY_TICKS == 0:
                metrics.observe_largest_shop(map(len, self._clients.values()))
            size = -(-len(ring) // ticks)
            for client in ring[(tick % ticks) * size : (tick % ticks + 1) * size]:
                client.keep_alive()
            tick += 1
        self.drain()

    def drain(self) -> None:
        """Tell every client to come back after `retry_ms` (to another process) and close it."""
        self.draining = True
        retry = retry_frame(self._retry_ms)
        for clients in self._clients.values():
            for client in clients:
                client.push(retry)
                client.close()
        log.info("push_draining", clients=sum(map(len, self._clients.values())))
