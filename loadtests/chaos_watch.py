"""What the chaos run observes: storefront SSE clients that reconnect with their Last-Event-ID, and
the Redis and worker state it checks against the ledger afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

import httpx
import orjson
import redis.asyncio as redis
from httpx_sse import aconnect_sse

from storepulse import redis_keys
from storepulse.redis_client import StreamEntries
from streams.domain.standing import ROW_FIELDS

RECONNECT_S = 0.3


@dataclass
class Storefront:
    """One visitor's widget on a shop: every event id it got, reconnecting as a browser does."""

    url: str
    received: list[str] = field(default_factory=list)
    reconnects: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as http:
            while True:
                headers = {"Last-Event-ID": self.received[-1]} if self.received else {}
                try:
                    async with aconnect_sse(http, "GET", self.url, headers=headers) as source:
                        source.response.raise_for_status()
                        self.connected.set()
                        async for event in source.aiter_sse():
                            if event.event == "notification" and event.id:
                                self.received.append(event.id)
                except httpx.HTTPError:
                    pass
                self.reconnects += 1
                await asyncio.sleep(RECONNECT_S)


@contextlib.asynccontextmanager
async def storefronts(push_url: str, shops: list[str]) -> AsyncIterator[dict[str, Storefront]]:
    """A connected Storefront per shop for the block."""
    fronts = {shop: Storefront(f"{push_url}/sse/{shop}") for shop in shops}
    tasks = [asyncio.create_task(f.run()) for f in fronts.values()]
    try:
        await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in fronts.values())), 60)
        yield fronts
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def stream_of(client: redis.Redis, shop: str) -> list[tuple[str, dict]]:
    """(entry id, notification) of the shop's `recent:{shop}` stream, oldest first."""
    entries = cast(StreamEntries, await client.xrange(redis_keys.recent_stream(shop)))
    return [(entry_id.decode(), orjson.loads(fields[b"n"])) for entry_id, fields in entries]


@dataclass
class NotificationCheck:
    expected: int = 0
    delivered: int = 0
    duplicated: int = 0
    missing: int = 0
    unexpected: int = 0

    @property
    def exact(self) -> bool:
        return self.delivered == self.expected and not (self.duplicated or self.missing or self.unexpected)


def check_notifications(
    expected: dict[str, set[str]], streams: dict[str, list[tuple[str, dict]]]
) -> NotificationCheck:
    """Purchase notification ids per shop against the streams: each expected one there once."""
    check = NotificationCheck()
    for shop, ids in expected.items():
        got = Counter(n["id"] for _, n in streams[shop] if n["kind"] == "purchase")
        check.expected += len(ids)
        check.delivered += sum(1 for i in ids if got[i])
        check.duplicated += sum(c - 1 for c in got.values() if c > 1)
        check.missing += sum(1 for i in ids if not got[i])
        check.unexpected += sum(1 for i in got if i not in ids)
    return check


@dataclass
class SSECheck:
    clients: int = 0
    events: int = 0  # the events the clients had to get
    received: int = 0
    duplicated: int = 0
    missing: int = 0
    out_of_order: int = 0
    reconnects: int = 0

    @property
    def exact(self) -> bool:
        return self.received == self.events and not (self.duplicated or self.missing or self.out_of_order)


def check_storefronts(fronts: dict[str, Storefront], streams: dict[str, list[tuple[str, dict]]]) -> SSECheck:
    """Each client, connected before the first notification and reconnecting with its last id,
    must have every entry of its shop's stream once and in stream order."""
    check = SSECheck(clients=len(fronts))
    for shop, front in fronts.items():
        ids = [entry_id for entry_id, _ in streams[shop]]
        got = Counter(front.received)
        check.events += len(ids)
        check.received += len(front.received)
        check.duplicated += sum(c - 1 for c in got.values() if c > 1)
        check.missing += sum(1 for i in ids if not got[i])
        # Order: the ids as received, once each, must be the stream's own order.
        seen = list(dict.fromkeys(front.received))
        check.out_of_order += sum(1 for a, b in itertools.pairwise(seen) if _order(a) > _order(b))
        check.reconnects += front.reconnects
    return check


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


Metrics = dict[tuple[str, int], tuple[int, Decimal, Decimal]]


async def read_model_metrics(client: redis.Redis, shops: list[str]) -> Metrics:
    """(orders, total spent, net spent) of every customer in `customers:{shop}`."""
    at = {name: ROW_FIELDS.index(name) for name in ("orders_count", "total_spent", "net_spent")}
    out: Metrics = {}
    for shop in shops:
        for customer, raw in (await client.hgetall(redis_keys.customers(shop))).items():
            if raw:
                row = orjson.loads(raw)
                values = (
                    row[at["orders_count"]],
                    Decimal(row[at["total_spent"]]),
                    Decimal(row[at["net_spent"]]),
                )
                out[(shop, int(customer))] = values
    return out


async def table_metrics(worker_url: str, token: str, keys: list[tuple[str, int]]) -> Metrics:
    """The same from the worker's table through its admin API: one worker is asked about every
    customer, so those on the other worker's partitions are forwarded to it."""
    out: Metrics = {}
    async with httpx.AsyncClient(
        base_url=worker_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        for shop, customer in keys:
            answer = await http.get(f"/shops/{shop}/customers/{customer}")
            if answer.status_code == 200:
                v = answer.json()
                out[(shop, customer)] = (
                    v["orders_count"],
                    Decimal(v["total_spent"]),
                    Decimal(v["net_spent"]),
                )
    return out


def mismatches(expected: Metrics, got: Metrics) -> int:
    return sum(1 for key, want in expected.items() if got.get(key, (0, Decimal(0), Decimal(0))) != want)


async def consumer_lag(worker_urls: list[str]) -> int:
    """The summed storepulse_worker_consumer_lag the workers report (None answers count as lag)."""
    total = 0
    async with httpx.AsyncClient(timeout=10) as http:
        for url in worker_urls:
            text = (await http.get(f"{url}/metrics")).text
            for line in text.splitlines():
                if line.startswith("storepulse_worker_consumer_lag{"):
                    total += int(float(line.rsplit(" ", 1)[1]))
    return total
