"""Push under failure: Redis outage, SIGTERM drain, connection caps, several processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx

from storepulse.devstack import Stack, start_redis
from tests.support.eventually import eventually
from tests.support.metrics import metric
from tests.support.push import note, publish, push_process
from tests.support.sse import LineReader, listening
from tests.support.stack import install_shop


async def test_redis_outage_keeps_clients_and_replays_what_they_missed(stack: Stack, shop: str) -> None:
    own = start_redis()
    redis_url = f"redis://127.0.0.1:{own.port}/0"
    try:
        await install_shop(stack, shop, redis_url=redis_url)
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
                # Published last: once it is in, a duplicate of what came before would be in too.
                marker = await publish(redis_url, [note(shop, 5)])
                await reader.until("id: ", 6)
                assert reader.ids() == before + after + marker
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

            async def streaming_or_gone() -> bool:
                if push.proc.poll() is not None or reader.lines or reader.ended.is_set():
                    return True
                await publish(stack.env["REDIS_URL"], [note(shop, 1)])
                return False

            await eventually(streaming_or_gone, timeout=10, every=0.2)
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
            marker = await publish(redis_url, [note(shop, 5)])  # a duplicate would come before it
            await moved.wait_for(3, timeout=10)
        assert [e.id for e in moved.events] == missed + marker
