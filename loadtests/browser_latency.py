"""Webhook → browser latency: signed orders into ingest, SSE storefronts on push, send to receive.

Each order's notification id is derived as streams derives it (keyed with the notification id
key), so a received event is matched to the order that caused it without the public
notification carrying an order id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
import orjson

from loadtests.open_loop import percentile, send_at_rate
from loadtests.payloads import Webhook, order, webhook
from shopify.topics import ORDERS_CREATE
from streams.domain.notifications import notification_id

# A busy store on a sale day: 10 orders/s, each shown on one storefront connection of that shop.
ORDERS_PER_SHOP_PER_S = 10


@dataclass(frozen=True)
class LatencyResult:
    rate: float
    orders: int  # sent after the warm-up and accepted by ingest
    refused: int  # sent after the warm-up and not accepted (error or timeout)
    clients: int  # one SSE storefront per shop
    delivered: int  # orders whose notification reached their shop's storefront
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process

    @property
    def delivered_share(self) -> float:
        return self.delivered / self.orders if self.orders else 0.0


async def _listen(
    session: aiohttp.ClientSession,
    url: str,
    seen: dict[str, float],
    up: asyncio.Event,
    arrived: asyncio.Event,
) -> None:
    """Record when each notification id first arrives on one SSE connection."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
    async with session.get(url, timeout=timeout) as response:
        response.raise_for_status()
        up.set()
        event = b""
        async for raw in response.content:
            line = raw.rstrip(b"\r\n")
            if line.startswith(b"event:"):
                event = line[6:].strip()
            elif line.startswith(b"data:") and event == b"notification":
                seen.setdefault(orjson.loads(line[5:])["id"], time.perf_counter())
                arrived.set()
            elif not line:
                event = b""


async def _connected(up: asyncio.Event, listener: asyncio.Task[None]) -> None:
    """Wait until the storefront is connected; a listener that failed raises its error (e.g. 429)."""
    connected = asyncio.ensure_future(up.wait())
    done, _ = await asyncio.wait([connected, listener], timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if connected in done:
        return
    connected.cancel()
    if listener in done:
        listener.result()
    raise TimeoutError("an SSE storefront did not connect within 15 s")


def order_hooks(shops: Sequence[str], count: int) -> list[Webhook]:
    """`count` orders/create webhooks, round-robin over `shops`."""
    return [webhook(ORDERS_CREATE, shops[i % len(shops)], order()) for i in range(count)]


def shops_for(rate: float) -> int:
    return max(1, round(rate / ORDERS_PER_SHOP_PER_S))


async def measure(
    ingest_url: str,
    push_url: str,
    shops: Sequence[str],
    secret: bytes,
    id_key: bytes,
    rate: float,
    *,
    duration_s: float,
    warmup_s: float,
    grace_s: float = 10.0,
) -> LatencyResult:
    """Send `rate` orders/s over `shops` for warm-up + duration, one storefront per shop listening.

    Webhooks are signed with `secret`; `id_key` is the worker's notification id key."""
    hooks = order_hooks(shops, round(rate * (warmup_s + duration_s)))
    ids = [notification_id(h.shop, "purchase", str(orjson.loads(h.body)["id"]), id_key) for h in hooks]
    seen: dict[str, dict[str, float]] = {shop: {} for shop in shops}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        arrived = asyncio.Event()
        listeners: list[asyncio.Task[None]] = []
        try:
            # One storefront at a time, as real visitors arrive: a burst of first connections is
            # a different test (push's Redis pool answers 503 past 100 at once with redis-py 8).
            for shop in shops:
                up = asyncio.Event()
                listeners.append(
                    asyncio.create_task(_listen(session, f"{push_url}/sse/{shop}", seen[shop], up, arrived))
                )
                await _connected(up, listeners[-1])
            answers = await send_at_rate(ingest_url, hooks, secret, rate)
            start = min(a.due for a in answers)
            counted = [a for a in answers if a.due >= start + warmup_s]
            measured = [a for a in counted if a.ok]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    while any(ids[a.index] not in seen[hooks[a.index].shop] for a in measured):
                        arrived.clear()
                        await arrived.wait()
        finally:
            for task in listeners:
                task.cancel()
            for task in listeners:
                with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                    await task
    latencies = [
        (seen[hooks[a.index].shop][ids[a.index]] - a.due) * 1000
        for a in measured
        if ids[a.index] in seen[hooks[a.index].shop]
    ]
    return LatencyResult(
        rate=rate,
        orders=len(measured),
        refused=len(counted) - len(measured),
        clients=len(shops),
        delivered=len(latencies),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
    )
