"""`storepulse dev` (what `make run` runs): comes up, shows simulated orders, stops clean."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import psutil

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import free_port, wait_ready
from tests.support.sse import listening
from tests.support.webhooks import post

DEV_SECRET = b"dev-test-secret"


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
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest_port}") as ingest:
            assert (await post(ingest, hook, DEV_SECRET)).status_code == 200
        await sse.wait_for(1, timeout=10)
        return time.monotonic() - started


def _listening_ports(pids: set[int]) -> set[int]:
    ports = set()
    for conn in psutil.net_connections(kind="tcp"):
        if conn.pid in pids and conn.status == psutil.CONN_LISTEN:
            ports.add(conn.laddr.port)
    return ports


def test_dev_runs_everything_and_sigterm_leaves_nothing(tmp_path) -> None:
    ports = {"INGEST_PORT": free_port(), "PUSH_PORT": free_port(), "STOREPULSE_WORKER_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "SHOPIFY_API_SECRET": DEV_SECRET.decode(),
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "2.0",
        "STOREPULSE_BROKER_HEARTBEAT_INTERVAL": "0.5",
    }
    env.pop("KAFKA_URL", None)
    env.pop("REDIS_URL", None)
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [sys.executable, "-m", "storepulse", "dev"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        for port in ports.values():
            wait_ready(port, 90)
        family = {dev.pid, *(c.pid for c in psutil.Process(dev.pid).children(recursive=True))}
        # ingest, worker, push, broker and Redis all listen, each on its own port.
        assert set(ports.values()) <= _listening_ports(family)
        assert len(_listening_ports(family)) >= 5

        event = asyncio.run(_first_notification(ports["PUSH_PORT"], "demo-store.myshopify.com"))
        assert '"kind":"purchase"' in event.data
        took = asyncio.run(_any_shop_round_trip(ports["INGEST_PORT"], ports["PUSH_PORT"]))
        assert took < 5, f"webhook→SSE took {took:.2f}s"

        started = time.monotonic()
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(30) == 0
        assert time.monotonic() - started < 30
        assert not [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    finally:
        if dev.poll() is None:
            dev.terminate()  # dev stops its own children; a SIGKILL would orphan them
            try:
                dev.wait(30)
            except subprocess.TimeoutExpired:
                dev.kill()
        log.close()
    assert b"demo store: http://127.0.0.1:" in (tmp_path / "dev.log").read_bytes()
