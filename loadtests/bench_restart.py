"""How long a worker takes from start to ready with its customers' state, memory store against RocksDB.

    python -m loadtests.bench_restart --customers 100000 --json out.json

Starts the embedded stack, produces one order for each of N customers, then for each store
(`STOREPULSE_WORKER_STORE`) starts a worker of its own group and data directory, waits until it
processed every order and went idle (its changelog records written), and times three starts:
the first (its state built from the orders), a restart after a clean stop (SIGTERM), and one after
SIGKILL. Ready is the worker's /ready: partitions assigned and every table recovered. Also prints
the worker's resident memory once ready and the size of its tables on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from loadtests.bench_worker import SHOP, orders, processed
from loadtests.cpu import cpu_when_idle
from loadtests.kafka_feed import produce
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Child, Stack, wait_ready


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def rss_mb(worker: Child) -> float:
    return round(psutil.Process(worker.proc.pid).memory_info().rss / 2**20, 1)


async def one_store(stack: Stack, store: str, n: int, timeout: float) -> dict[str, Any]:
    datadir = Path(tempfile.mkdtemp(prefix=f"bench-restart-{store}-"))
    env = {
        "STOREPULSE_APP_ID": f"bench-restart-{uuid.uuid4().hex[:8]}",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "6.0",
        "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        "STOREPULSE_WORKER_STORE": store,
        "STOREPULSE_WORKER_DATADIR": str(datadir),
        "LOG_LEVEL": "warning",
    }

    def start(name: str) -> tuple[Child, float]:
        worker = stack.start_service("worker", extra_env=env, name=f"worker-{store}-{name}")
        return worker, round(wait_ready(worker.port, timeout, worker), 2)

    first, first_ready = start("first")
    started = time.monotonic()
    while processed(first.port) < n:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{store}: the worker processed {processed(first.port)} of {n} orders")
        await asyncio.sleep(0.5)
    await cpu_when_idle(first.proc.pid, timeout)
    first.stop()
    after_stop, clean_ready = start("after-stop")
    memory = rss_mb(after_stop)
    await cpu_when_idle(after_stop.proc.pid, timeout)
    after_stop.kill()
    after_kill, kill_ready = start("after-kill")
    after_kill.stop()
    return {
        "store": store,
        "customers": n,
        "first_start_s": first_ready,
        "ready_after_clean_stop_s": clean_ready,
        "ready_after_sigkill_s": kill_ready,
        "rss_mb_after_restart": memory,
        "disk_mb": round(disk_bytes(datadir) / 2**20, 1),
    }


async def run(stack: Stack, n: int, stores: list[str], timeout: float) -> list[dict[str, Any]]:
    bootstrap = stack.env["KAFKA_URL"].removeprefix("kafka://")
    await produce(bootstrap, ((ORDERS_CREATE, SHOP, o) for o in orders(n, 1, random.Random(7))))
    return [await one_store(stack, store, n, timeout) for store in stores]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--stores", default="memory,rocksdb")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    stack = Stack(env={"SHOPIFY_API_SECRET": "bench-secret"}, log_dir=Path(tempfile.mkdtemp(prefix="bench-")))
    stack.start_infra()
    try:
        results = asyncio.run(run(stack, args.customers, args.stores.split(","), args.timeout))
    finally:
        stack.stop()
    print("| store | customers | first start → ready | after a clean stop | after SIGKILL | RSS | on disk |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['store']} | {r['customers']:,} | {r['first_start_s']} s "
            f"| {r['ready_after_clean_stop_s']} s | {r['ready_after_sigkill_s']} s "
            f"| {r['rss_mb_after_restart']} MB | {r['disk_mb']} MB |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
