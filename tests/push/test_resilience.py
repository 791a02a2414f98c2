"""Push under failure: Redis outage, SIGTERM drain, connection caps, several processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import httpx
import redis.asyncio as redis

from storepulse.devstack import Stack, start_redis
from storepulse.shops import ShopRegistry, token_cipher
from tests.push.helpers import metric, note, publish, push_process, raw_lines
from tests.sse import listening


class LineReader:
    """Collects every line of one SSE response in the background."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.ended = asyncio.Event()
        self._grew = asyncio.Event()
        self._task = asyncio.create_task(self._run(url, headers))

    async def _run(self, url: str, headers: dict[str, str] | None) -> None:
        try:
            async for line in raw_lines(url, headers):
                self.lines.append(line)
                self._grew.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def count(self, prefix: str) -> int:
        return sum(line.startswith(prefix) for line in self.lines)

    def ids(self) -> list[str]:
        return [line[4:] for line in self.lines if line.startswith("id: ")]

    async def until(self, prefix: str, count: int, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while self.count(prefix) < count:
                self._grew.clear()
                await self._grew.wait()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def install(stack: Stack, redis_url: str, shop: str) -> None:
    """Install `shop` in the registry at `redis_url` (a Redis of the test's own)."""
    client = redis.Redis.from_url(redis_url)
    await ShopRegistry(client, token_cipher(stack.settings())).install(shop, "shpat_test")
    await client.aclose()


async def test_redis_outage_keeps_clients_and_replays_what_they_missed(stack: Stack, shop: str) -> None:
    own = start_redis()
    redis_url = f"redis://127.0.0.1:{own.port}/0"
    try:
        await install(stack, redis_url, shop)
        with push_process(stack, "push-outage", REDIS_URL=redis_url, STOREPULSE_SSE_PING_S="0.5") as push:
            base = f"http://127.0.0.1:{push.port}"
            reader = LineReader(f"{base}/sse/{shop}")
            try:
                await reader.until(": ping", 1)
                before = await publish(redis_url, [note(shop, i) for i in range(2)])
                await reader.until("id: ", 2)

                own.stop()
                pings = reader.count(": ping")
                await asyncio.sleep(2.0)
                assert not reader.ended.is_set(), "the client was disconnected during the outage"
                assert reader.count(": ping") >= pings + 2, "pings stopped during the outage"
                replayed = await metric(base, "storepulse_push_messages_replayed_total")

                own = start_redis(own.port)  # empty: no persistence, as documented
                after = await publish(redis_url, [note(shop, i) for i in range(2, 5)])
                await reader.until("id: ", 5)
                await asyncio.sleep(0.5)  # room for a duplicate that must not come
                assert reader.ids() == before + after
                assert await metric(base, "storepulse_push_messages_replayed_total") > replayed
                assert (await httpx.AsyncClient().get(f"{base}/ready")).status_code == 200
            finally:
                await reader.close()
    finally:
        own.stop()


async def test_sigterm_tells_clients_to_retry_and_exits_quickly(stack: Stack, shop: str) -> None:
    with push_process(stack, "push-drain") as push:
        reader = LineReader(f"http://127.0.0.1:{push.port}/sse/{shop}")
        try:
            async with asyncio.timeout(10):
                while push.proc.poll() is None and not reader.lines and not reader.ended.is_set():
                    await publish(stack.env["REDIS_URL"], [note(shop, 1)])
                    await asyncio.sleep(0.2)
            started = time.monotonic()
            os.killpg(push.proc.pid, signal.SIGTERM)
            await asyncio.wait_for(reader.ended.wait(), timeout=10)
            await asyncio.to_thread(push.proc.wait, 10)
            took = time.monotonic() - started
        finally:
            await reader.close()
    assert "retry: 2000" in reader.lines
    assert took < 10


async def test_connection_caps_answer_429_with_retry_after(stack: Stack, shop: str) -> None:
    with push_process(
        stack, "push-caps", STOREPULSE_PUSH_MAX_PER_IP="2", STOREPULSE_PUSH_MAX_CONNECTIONS="3"
    ) as push:
        url = f"http://127.0.0.1:{push.port}/sse/{shop}"

        def ip(address: str) -> dict[str, str]:
            return {"X-Forwarded-For": address}  # as nginx in front of push sets it

        async with (
            listening(url, ip("203.0.113.1")),
            listening(url, ip("203.0.113.1")),
            httpx.AsyncClient() as client,
        ):
            same_ip = await client.get(url, headers=ip("203.0.113.1"))
            assert same_ip.status_code == 429 and int(same_ip.headers["retry-after"]) > 0
            async with listening(url, ip("203.0.113.2")):
                full = await client.get(url, headers=ip("203.0.113.3"))
                assert full.status_code == 429 and int(full.headers["retry-after"]) > 0
        # Slots are released when clients leave.
        async with listening(url, ip("203.0.113.1")), listening(url, ip("203.0.113.1")):
            pass


async def test_two_processes_serve_one_shop_without_sticky_sessions(stack: Stack, shop: str) -> None:
    redis_url = stack.env["REDIS_URL"]
    with push_process(stack, "push-a") as a, push_process(stack, "push-b") as b:
        url_a = f"http://127.0.0.1:{a.port}/sse/{shop}"
        url_b = f"http://127.0.0.1:{b.port}/sse/{shop}"
        async with listening(url_a) as on_a, listening(url_b) as on_b:
            sent = await publish(redis_url, [note(shop, i) for i in range(3)])
            await on_a.wait_for(3, timeout=10)
            await on_b.wait_for(3, timeout=10)
        assert [e.id for e in on_a.events] == [e.id for e in on_b.events] == sent
        # The client of A comes back through B (a load balancer's choice) and misses nothing.
        missed = await publish(redis_url, [note(shop, i) for i in range(3, 5)])
        async with listening(url_b, {"Last-Event-ID": sent[-1]}) as moved:
            await moved.wait_for(2, timeout=10)
            await asyncio.sleep(0.3)
        assert [e.id for e in moved.events] == missed
