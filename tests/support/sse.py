"""SSE clients for tests: notifications parsed by httpx-sse, or an SSE response's raw lines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.support.eventually import eventually

# A client reads an endless response: connecting may time out, reading never does.
STREAMING = httpx.Timeout(5, read=None)


@dataclass
class SSEClient:
    """Reads one SSE connection in the background; `events` fills as notifications arrive."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[ServerSentEvent] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=STREAMING) as client:
            async with aconnect_sse(client, "GET", self.url, headers=self.headers) as source:
                source.response.raise_for_status()
                self.connected.set()
                async for event in source.aiter_sse():
                    if event.event == "notification":
                        self.events.append(event)

    def payloads(self) -> list[dict[str, Any]]:
        return [orjson.loads(e.data) for e in self.events]

    def of_kind(self, kind: str, product: object | None = None) -> list[dict[str, Any]]:
        """The notifications of `kind` (about `product`, when given)."""
        return [
            p
            for p in self.payloads()
            if p["kind"] == kind and (product is None or (p.get("product") or {}).get("id") == str(product))
        ]

    async def wait_for(self, count: int, timeout: float) -> list[ServerSentEvent]:
        await eventually(
            lambda: len(self.events) >= count, timeout=timeout, every=0.01, what=f"{count} notifications"
        )
        return self.events

    async def wait_for_kind(
        self, kind: str, count: int, timeout: float = 20, product: object | None = None
    ) -> list[dict[str, Any]]:
        about = f" about {product}" if product is not None else ""
        await eventually(
            lambda: len(self.of_kind(kind, product)) >= count,
            timeout=timeout,
            every=0.01,
            what=f"{count} {kind} notifications{about}",
        )
        return self.of_kind(kind, product)


@contextlib.asynccontextmanager
async def listening(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[SSEClient]:
    """An SSEClient connected to `url` for the block."""
    client = SSEClient(url, headers or {})
    task = asyncio.create_task(client.run())

    def up() -> bool:
        if task.done():
            task.result()  # it failed to connect: raise why
        return client.connected.is_set()

    try:
        await eventually(up, timeout=10, every=0.01, what=f"connected to {url}")
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await task


class LineReader:
    """Collects every line of one SSE response in the background, comments included."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.ended = asyncio.Event()
        self._task = asyncio.create_task(self._run(url, headers or {}))

    async def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            async with (
                httpx.AsyncClient(timeout=STREAMING) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                response.raise_for_status()
                async for line in response.aiter_lines():
                    self.lines.append(line)
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def count(self, prefix: str) -> int:
        return sum(line.startswith(prefix) for line in self.lines)

    def ids(self) -> list[str]:
        return [line[4:] for line in self.lines if line.startswith("id: ")]

    async def until(self, prefix: str, count: int, timeout: float = 15) -> None:
        await eventually(
            lambda: self.count(prefix) >= count, timeout=timeout, every=0.01, what=f"{count} x {prefix!r}"
        )

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
