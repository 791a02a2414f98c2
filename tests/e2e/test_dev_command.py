"""`storepulse dev` (what `make run` runs): comes up, shows simulated orders, stops clean."""

import asyncio
import signal
import time
import uuid

import httpx

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from tests.dev_launcher import DevLauncher
from tests.sse import listening


async def _first_notification(port: int, shop: str):
    async with listening(f"http://127.0.0.1:{port}/sse/{shop}") as sse:
        # The simulator sends one every few seconds; a late listener gets a backlog of several.
        events = await sse.wait_for(1, timeout=30)
    return events[0]


async def _any_shop_round_trip(ingest_port: int, push_port: int) -> float:
    """A signed order for a shop nobody registered reaches that shop's SSE client."""
    shop = f"any-{uuid.uuid4().hex[:8]}.myshopify.com"
    hook = webhook(ORDERS_CREATE, shop, order())
    async with listening(f"http://127.0.0.1:{push_port}/sse/{shop}") as sse:
        started = time.monotonic()
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{ingest_port}/webhooks/shopify",
                content=hook.body,
                headers=hook.headers(b"dev-test-secret"),
            )
        assert answer.status_code == 200
        await sse.wait_for(1, timeout=10)
        return time.monotonic() - started


def test_dev_runs_everything_and_sigterm_leaves_nothing(dev: DevLauncher) -> None:
    # ingest, worker, push, broker and Redis all listen, each on its own port.
    assert set(dev.ports.values()) <= dev.listening_ports()
    assert len(dev.listening_ports()) >= 5

    event = asyncio.run(_first_notification(dev.ports["PUSH_PORT"], "demo-store.myshopify.com"))
    assert '"kind":"purchase"' in event.data
    took = asyncio.run(_any_shop_round_trip(dev.ports["INGEST_PORT"], dev.ports["PUSH_PORT"]))
    assert took < 5, f"webhook→SSE took {took:.2f}s"

    started = time.monotonic()
    dev.proc.send_signal(signal.SIGTERM)
    assert dev.proc.wait(30) == 0
    assert time.monotonic() - started < 30
    assert not dev.alive()
    assert b"demo store: http://127.0.0.1:" in dev.log.read_bytes()
