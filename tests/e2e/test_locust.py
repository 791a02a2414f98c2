"""The locust users, run headless as an operator would, against the real services.

Locust is never imported here: it monkey-patches the process with gevent.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import httpx

from loadtests.payloads import BEACON_MIX, beacon, order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.contracts import Beacon, BeaconType
from tests.support.eventually import eventually
from tests.support.stack import Services
from tests.support.webhooks import deliver

ORDERS = 5
USERS = 2


def _stats(prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    path = prefix.with_name(prefix.name + "_stats.csv")
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


def _locust(
    locustfile: str, host: str, shop: str, users: int, seconds: int, prefix: Path
) -> subprocess.Popen:
    """`locust --headless` as an operator runs it, with CSV output at `prefix`."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "locust", "-f", locustfile, "--headless",
            "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "1",
            "--csv", str(prefix), "--host", host, "--only-summary",
        ],
        env={**os.environ, "STOREPULSE_LOAD_SHOP": shop},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def test_sse_user_reports_publish_to_receive_latency(
    services: Services, ingest: httpx.AsyncClient, shop: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "sse"
    locust = _locust("loadtests/locust_sse.py", services.push_url, shop, USERS, 10, prefix)
    try:

        def connected() -> bool:  # once locust has counted both storefronts' GETs
            return int(_stats(prefix).get(("GET", "/sse/[shop]"), {}).get("Request Count", 0)) >= USERS

        await eventually(connected, timeout=15, every=0.2, what="locust's storefronts connected")
        await asyncio.sleep(0.5)
        for _ in range(ORDERS):
            await deliver(ingest, webhook(ORDERS_CREATE, shop, order()))
        # locust exits non-zero when any request failed
        assert await asyncio.to_thread(locust.wait, 40) == 0
    finally:
        locust.kill()
        locust.wait()
    row = _stats(prefix)[("SSE", "publish→receive")]
    assert int(row["Request Count"]) == ORDERS * USERS
    assert int(row["Failure Count"]) == 0
    assert 0 < float(row["Median Response Time"]) < 10_000


def test_beacon_user_sends_every_beacon_type_of_the_contract() -> None:
    assert set(BEACON_MIX) == set(get_args(BeaconType))
    now = datetime.now(UTC)
    for kind in BEACON_MIX:
        body = beacon("demo-store.myshopify.com", kind, "a1b2c3d4e5f6a7b8", "7001")
        assert Beacon.model_validate({**body, "received_at": now}).type == kind


def test_beacon_user_posts_beacons_ingest_accepts(services: Services, shop: str, tmp_path: Path) -> None:
    prefix = tmp_path / "beacons"
    locust = _locust("loadtests/locust_beacons.py", services.ingest_url, shop, 3, 6, prefix)
    try:
        assert locust.wait(30) == 0  # locust exits non-zero when any request failed
    finally:
        locust.kill()
        locust.wait()
    rows = [
        row for (kind, name), row in _stats(prefix).items() if kind == "POST" and name.startswith("/beacons")
    ]
    assert sum(int(row["Request Count"]) for row in rows) >= 3
    assert all(int(row["Failure Count"]) == 0 for row in rows)
