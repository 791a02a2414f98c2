"""GET /sse/{shop} against a real push process and Redis: replay, admission, slow clients."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from storepulse.devstack import Child, Stack
from tests.support.metrics import metric
from tests.support.push import note, publish, push_process
from tests.support.sse import SSEClient, listening


@pytest.fixture(scope="module")
def push(stack: Stack) -> Iterator[Child]:
    with push_process(
        stack, "push-stream", STOREPULSE_PUSH_CLIENT_BUFFER="8", STOREPULSE_SSE_PING_S="1"
    ) as child:
        yield child


def url(push: Child, shop: str, query: str = "") -> str:
    return f"http://127.0.0.1:{push.port}/sse/{shop}{query}"


def ids(client: SSEClient) -> list[str]:
    return [e.id for e in client.events]


async def test_first_visit_gets_the_last_three_then_live(stack: Stack, push: Child, shop: str) -> None:
    old = await publish(stack.env["REDIS_URL"], [note(shop, i) for i in range(5)])
    async with listening(url(push, shop)) as client:
        await client.wait_for(3, timeout=10)
        [live] = await publish(stack.env["REDIS_URL"], [note(shop, 99)])
        await client.wait_for(4, timeout=10)
    assert ids(client) == [*old[-3:], live]
    assert [p["message"] for p in client.payloads()] == ["m2", "m3", "m4", "m99"]
    assert all(p["event_id"] == i for p, i in zip(client.payloads(), ids(client), strict=True))


@pytest.mark.parametrize("via", ["header", "query"])
async def test_reconnect_gets_exactly_what_it_missed(stack: Stack, push: Child, shop: str, via: str) -> None:
    redis_url = stack.env["REDIS_URL"]
    seen = await publish(redis_url, [note(shop, i) for i in range(3)])
    async with listening(url(push, shop)) as first:
        await first.wait_for(3, timeout=10)
    missed = await publish(redis_url, [note(shop, i) for i in range(3, 8)])
    last = first.events[-1].id
    headers = {"Last-Event-ID": last} if via == "header" else {}
    query = f"?last_event_id={last}" if via == "query" else ""
    async with listening(url(push, shop, query), headers) as again:
        await again.wait_for(5, timeout=10)
        live = await publish(redis_url, [note(shop, i) for i in range(8, 10)])
        await again.wait_for(7, timeout=10)
        marker = await publish(redis_url, [note(shop, 10)])  # a duplicate would come before it
        await again.wait_for(8, timeout=10)
    assert ids(first) == seen
    assert ids(again) == [*missed, *live, *marker]


async def test_reconnect_after_a_long_cut_gets_all_the_stream_keeps_after_its_id(
    stack: Stack, shop: str
) -> None:
    redis_url = stack.env["REDIS_URL"]
    with push_process(stack, "push-long-cut", STOREPULSE_RECENT_MAXLEN="400") as deep:
        seen = await publish(redis_url, [note(shop, 0)], maxlen=400)
        async with listening(url(deep, shop)) as first:
            await first.wait_for(1, timeout=10)
        missed = await publish(redis_url, [note(shop, i) for i in range(1, 251)], maxlen=400)
        async with listening(url(deep, shop), {"Last-Event-ID": seen[-1]}) as again:
            await again.wait_for(250, timeout=20)
            marker = await publish(redis_url, [note(shop, 999)], maxlen=400)
            await again.wait_for(251, timeout=10)
    assert ids(again) == [*missed, *marker]  # not only the first 100 of them


# A sign, a space, a non-ASCII digit, or more digits than a stream id has: int() takes the first
# three and Redis refuses them all; thirty digits made XRANGE fail and the client got nothing live.
BAD_LAST_IDS = ["+5-3", " 5-0", "\u0663-0", "1" * 30, "5-", "-5", "5-0-0", "5-\u0663"]


@pytest.mark.parametrize("bad", BAD_LAST_IDS)
async def test_a_malformed_last_event_id_is_a_first_visit(
    stack: Stack, push: Child, shop: str, bad: str
) -> None:
    old = await publish(stack.env["REDIS_URL"], [note(shop, i) for i in range(5)])
    # The query string carries any character; the header only what HTTP allows.
    headers = {"Last-Event-ID": bad} if bad.isascii() and bad.strip() == bad else {}
    async with listening(url(push, shop, "?" + urlencode({"last_event_id": bad})), headers) as client:
        await client.wait_for(3, timeout=10)
        [live] = await publish(stack.env["REDIS_URL"], [note(shop, 99)])
        await client.wait_for(4, timeout=10)
    assert ids(client) == [*old[-3:], live]


async def test_shop_that_is_not_installed_is_404(push: Child) -> None:
    async with httpx.AsyncClient() as client:
        for shop in ("never-installed.myshopify.com", "not a shop", "evil.example.com"):
            answer = await client.get(url(push, shop))
            assert answer.status_code == 404, shop


async def test_storefront_origin_may_read_the_stream(push: Child, shop: str) -> None:
    origin = {"Origin": "https://www.some-custom-storefront.com"}
    async with httpx.AsyncClient() as client:
        async with client.stream("GET", url(push, shop), headers=origin) as answer:
            assert answer.status_code == 200
            assert answer.headers["access-control-allow-origin"] == "*"
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert answer.headers["x-accel-buffering"] == "no"
        preflight = await client.options(
            url(push, shop),
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "last-event-id",
            },
        )
        assert preflight.status_code == 200


def stalled_reader(port: int, path: str) -> socket.socket:
    """A client that sends a request and then never reads: its window fills quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


async def test_a_stalled_client_is_cut_off_and_never_delays_the_others(
    stack: Stack, push: Child, shop: str
) -> None:
    base = f"http://127.0.0.1:{push.port}"
    before = await metric(base, "storepulse_push_slow_client_disconnects_total")
    stalled = stalled_reader(push.port, f"/sse/{shop}")
    try:
        async with listening(url(push, shop)) as healthy:
            big = "x" * 8000
            sent: list[str] = []
            # Publish until the kernel buffers of the stalled socket are full and it is cut off.
            for batch in range(400):
                sent += await publish(
                    stack.env["REDIS_URL"], [note(shop, batch * 20 + i, message=big) for i in range(20)]
                )
                await healthy.wait_for(len(sent), timeout=30)
                if await metric(base, "storepulse_push_slow_client_disconnects_total") > before:
                    break
            else:
                pytest.fail("the stalled client was never disconnected")
            assert ids(healthy) == sent
    finally:
        stalled.close()


async def test_probes_and_metrics(stack: Stack, push: Child, shop: str) -> None:
    base = f"http://127.0.0.1:{push.port}"
    async with listening(url(push, shop)) as client:
        await publish(stack.env["REDIS_URL"], [note(shop, 1)])
        await client.wait_for(1, timeout=10)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{base}/health")).json() == {"status": "ok"}
            ready = await http.get(f"{base}/ready")
            assert ready.status_code == 200 and ready.json()["redis"] is True
            text = (await http.get(f"{base}/metrics")).text
        assert await metric(base, "storepulse_push_connections") >= 1
        assert await metric(base, "storepulse_push_messages_delivered_total") >= 1
        assert await metric(base, "storepulse_push_delivery_latency_seconds_count") >= 1
    assert 'storepulse_push_shops{clients="1"}' in text
    assert shop not in text  # no per-shop labels
    assert orjson.loads(client.events[0].data)["shop"] == shop


async def test_a_burst_of_storefronts_connecting_at_once_is_served(stack: Stack, shop: str) -> None:
    """More simultaneous connects than the Redis pool holds wait for a connection, not a 503."""
    with push_process(
        stack, "push-burst", STOREPULSE_REDIS_MAX_CONNECTIONS="8", STOREPULSE_PUSH_MAX_PER_IP="1000"
    ) as child:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=None)) as client:

            async def open_one() -> int:
                async with client.stream("GET", url(child, shop)) as answer:
                    return answer.status_code

            statuses = await asyncio.gather(*(open_one() for _ in range(160)))
    assert statuses == [200] * 160
