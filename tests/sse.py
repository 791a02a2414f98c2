"""A small SSE reader for tests, on httpx-sse."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import orjson
from httpx_sse import ServerSentEvent, aconnect_sse


@dataclass
class SSEClient:
    """Reads one SSE connection in the background; `events` fills as they arrive."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[ServerSentEvent] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as client:
            async with aconnect_sse(client, "GET", self.url, headers=self.headers) as source:
                source.response.raise_for_status()
                self.connected.set()
                async for event in source.aiter_sse():
                    if event.event == "notification":
                        self.events.append(event)
                        self.arrived.set()

    async def wait_for(self, count: int, timeout: float) -> list[ServerSentEvent]:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.events

    def payloads(self) -> list[dict]:
        return [orjson.loads(e.data) for e in self.events]


@contextlib.asynccontextmanager
async def listening(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[SSEClient]:
    client = SSEClient(url, headers or {})
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(10):
            while not client.connected.is_set():
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await task
