"""Webhook → browser latency: signed orders into ingest, SSE storefronts on push, send to receive.

Each order's notification id is derived as streams derives it (keyed with the first API
secret), so a received event is matched to the order that caused it without the public
notification carrying an order id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import aiohttp
import orjson

from loadtests.open_loop import percentile, send_at_rate
from loadtests.payloads import Webhook, order, webhook
from streams.notifications import notification_id


@dataclass(frozen=True)
class LatencyResult:
    rate: float
    orders: int  # sent after the warm-up and accepted by ingest
    clients: int
    delivered: int  # (order, client) pairs that arrived
    p50_ms: float
    p99_ms: float

    @property
    def delivered_share(self) -> float:
        expected = self.orders * self.clients
        return self.delivered / expected if expected else 0.0


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


def order_hooks(shop: str, count: int) -> list[Webhook]:
    return [webhook("orders/create", shop, order()) for _ in range(count)]


async def measure(
    ingest_url: str,
    push_url: str,
    shop: str,
    secret: bytes,
    rate: float,
    *,
    duration_s: float,
    warmup_s: float,
    clients: int = 10,
    grace_s: float = 10.0,
) -> LatencyResult:
    """Send `rate` orders/s for warm-up + duration to a fresh shop with `clients` storefronts."""
    hooks = order_hooks(shop, round(rate * (warmup_s + duration_s)))
    ids = [notification_id(shop, "purchase", str(orjson.loads(h.body)["id"]), secret) for h in hooks]
    seen: list[dict[str, float]] = [{} for _ in range(clients)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        ups = [asyncio.Event() for _ in range(clients)]
        arrived = asyncio.Event()
        listeners = [
            asyncio.create_task(_listen(session, f"{push_url}/sse/{shop}", seen[i], ups[i], arrived))
            for i in range(clients)
        ]
        try:
            async with asyncio.timeout(15):
                await asyncio.gather(*(up.wait() for up in ups))
            answers = await send_at_rate(ingest_url, hooks, secret, rate)
            start = min(a.due for a in answers)
            measured = [a for a in answers if a.ok and a.due >= start + warmup_s]
            wanted = {ids[a.index] for a in measured}
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    while any(wanted - s.keys() for s in seen):
                        arrived.clear()
                        await arrived.wait()
        finally:
            for task in listeners:
                task.cancel()
            for task in listeners:
                with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                    await task
    latencies = [
        (received[ids[a.index]] - a.due) * 1000
        for a in measured
        for received in seen
        if ids[a.index] in received
    ]
    return LatencyResult(
        rate=rate,
        orders=len(measured),
        clients=clients,
        delivered=len(latencies),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
    )
