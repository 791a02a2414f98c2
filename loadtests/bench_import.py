"""Importing VIP status at scale: a file of 50,000 customers through the app and the worker.

    python -m loadtests.bench_import --rows 50000 --json out.json

Starts the embedded stack, gives the worker one order for each customer (produced to Kafka as
ingest would), starts ingest (which serves the app) and posts a CSV of every customer with a tier
to `POST /app/api/imports`. Timed: from the upload until the import's log says completed (every
row checked and its tier floor produced), and until the worker holds every floor
(`tier-floors:{shop}`), when each customer holds the imported tier.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis

from admin.session import dev_session_token
from loadtests.cpu import cpu_share, describe
from loadtests.kafka_feed import produce
from loadtests.payloads import CATALOG, order
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import Stack, wait_ready
from storepulse.shops import open_registry

SHOP = "bench-import.myshopify.com"
SECRET = "bench-import-secret-" + "x" * 16
API_KEY = "bench-import-app"
ADMIN_TOKEN = "bench-import-token"
FIRST_ID = 20_000_000
TIERS = [{"name": "VIP", "tag": "VIP", "min_orders": 3}, {"name": "Gold", "tag": "Gold", "min_orders": 10}]
TARGET_S = 30


def members_csv(rows: int, rng: random.Random) -> bytes:
    """A loyalty app's export: every customer with a tier, a third of them until a day."""
    until = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    lines = ["Customer ID,VIP Tier,Expires On"]
    for i in range(rows):
        lines.append(f"{FIRST_ID + i},{rng.choice(('VIP', 'Gold'))},{until if i % 3 == 0 else ''}")
    return ("\n".join(lines) + "\n").encode()


async def held(client: redis.Redis, key: str, count: int, timeout: float) -> float:
    """Seconds until the hash `key` has `count` fields."""
    started = time.monotonic()
    while await client.hlen(key) < count:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{key}: {await client.hlen(key)} of {count} after {timeout:.0f} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def run(stack: Stack, rows: int, timeout: float) -> dict[str, Any]:
    rng = random.Random(12)
    registry = open_registry(stack.settings())
    await registry.install(SHOP, "bench-token", "read_orders")
    await registry.aclose()
    bootstrap = stack.env["KAFKA_URL"].removeprefix("kafka://")
    batch = [order(customer_id=FIRST_ID + i, rng=rng, product=rng.choice(CATALOG)) for i in range(rows)]
    await produce(bootstrap, ((ORDERS_CREATE, SHOP, o) for o in batch))
    worker = stack.start_service(
        "worker",
        extra_env={
            "STOREPULSE_APP_ID": f"bench-import-{uuid.uuid4().hex[:8]}",
            "STOREPULSE_WRITEBACK_DRY_RUN": "true",  # no Shopify here to tag customers in
        },
    )
    wait_ready(worker.port, 120, worker)
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        counted_s = await held(client, redis_keys.customers(SHOP), rows, timeout)
        ingest = stack.start_service(
            "ingest",
            extra_env={
                "SHOPIFY_API_KEY": API_KEY,
                "STOREPULSE_ADMIN_API_URL": f"http://127.0.0.1:{worker.port}",
            },
        )
        wait_ready(ingest.port, 60, ingest)
        token = dev_session_token(SHOP, API_KEY, SECRET)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ingest.port}/app/api",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as http:
            assert (await http.put("/settings", json={"tiers": TIERS})).status_code in (200, 202)
            data = members_csv(rows, rng)
            pids = {c.name: c.proc.pid for c in stack.children}
            with cpu_share(pids) as cpu:
                started = time.monotonic()
                answer = await http.post("/imports", files={"file": ("members.csv", data, "text/csv")})
                answer.raise_for_status()
                import_id = answer.json()["id"]
                # Polled, as the Imports page does: the log is all another process can see.
                while (record := (await http.get(f"/imports/{import_id}")).json())["status"] in (  # noqa: ASYNC110
                    "pending",
                    "processing",
                ):
                    await asyncio.sleep(0.1)
                logged_s = time.monotonic() - started
                applied_s = logged_s + await held(client, redis_keys.tier_floors(SHOP), rows, timeout)
    finally:
        await client.aclose()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "file_mb": round(len(data) / 2**20, 2),
        "status": record["status"],
        "rows_applied": record["rows_applied"],
        "rows_rejected": record["rows_rejected"],
        "customers_counted_s": round(counted_s, 1),
        "import_logged_s": round(logged_s, 1),
        "import_applied_s": round(applied_s, 1),
        "cpu": describe(cpu),
        "target_s": TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds each wait may take")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    env = {"SHOPIFY_API_SECRET": SECRET, "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "warning"}
    stack = Stack(env=env, log_dir=Path(tempfile.mkdtemp(prefix="bench-import-")))
    stack.start_infra()
    try:
        result = asyncio.run(run(stack, args.rows, args.timeout))
    finally:
        stack.stop()
    print(
        f"{result['rows']:,} rows ({result['file_mb']} MB): the import logged {result['status']} in "
        f"{result['import_logged_s']} s ({result['rows_applied']:,} applied, {result['rows_rejected']:,} "
        f"rejected), every customer holding the imported tier after {result['import_applied_s']} s "
        f"(target < {TARGET_S} s); CPU % {result['cpu']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
