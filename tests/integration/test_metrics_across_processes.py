"""`storepulse ingest --workers 2`: whichever process answers a scrape reports both processes' counts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Stack, wait_ready
from tests.support.eventually import eventually
from tests.support.metrics import metric
from tests.support.webhooks import deliver

RECEIVED = "storepulse_ingest_webhooks_received_total"


def counting_processes(directory: Path) -> int:
    """Processes that counted something: each keeps its counters in a file of its own."""
    return len(list(directory.glob("counter_*.db")))


async def test_every_scrape_of_either_process_counts_the_webhooks_both_took(
    stack: Stack, shop: str, tmp_path: Path
) -> None:
    # Named here so the test sees which processes wrote samples; the command empties it first.
    (tmp_path / "stale_from_an_earlier_run.db").write_bytes(b"not a metrics file")
    ingest = stack.start_service(
        "ingest", args=["--workers", "2"], extra_env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    )
    try:
        wait_ready(ingest.port, 60, ingest)
        base = f"http://127.0.0.1:{ingest.port}"
        sent = 0

        async def one_webhook_per_connection() -> None:
            async with httpx.AsyncClient(base_url=base) as client:  # a new connection: any process
                await deliver(client, webhook(ORDERS_CREATE, shop, order()))

        async def both_processes_took_some() -> bool:
            nonlocal sent
            await asyncio.gather(*(one_webhook_per_connection() for _ in range(10)))
            sent += 10
            return counting_processes(tmp_path) == 2

        await eventually(both_processes_took_some, timeout=60, every=0)
        assert not (tmp_path / "stale_from_an_earlier_run.db").exists()
        scrapes = [await metric(base, RECEIVED) for _ in range(10)]  # each on a new connection
        assert scrapes == [sent] * 10
    finally:
        ingest.stop()
