"""Orders/s streams workers of one group process with metrics, tiers and notifications on.

    python -m loadtests.bench_worker --orders 100000 --json out.json
    python -m loadtests.bench_worker --orders 100000 --workers 2    # the partitions split between them

Starts the embedded stack (storepulse.devstack), produces N orders (10 per customer by default,
so every customer crosses the VIP threshold and tier changes flow to `customer.changes`) with
aiokafka, then starts the workers (one by default) and times them from all ready until `vips:{shop}`
counts every order (with fewer orders per customer than make a VIP, until the workers' orders
counters reach N); the orders spread over every partition, so each worker gets its share.
Tag write-back runs dry (no Shopify here); purchase notifications are published to Redis as usual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psutil
import redis.asyncio as redis
from prometheus_client.parser import text_string_to_metric_families

from loadtests.cpu import cpu_seconds, cpu_share, cpu_when_idle, describe
from loadtests.kafka_feed import produce
from loadtests.payloads import CATALOG, next_id
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.contracts import TierRule
from storepulse.devstack import Stack, free_port, spawn, wait_ready

SHOP = "bench-store.myshopify.com"
VIP_ORDERS = TierRule().min_orders  # what the default tier asks of a VIP


def orders(count: int, per_customer: int, rng: random.Random) -> list[dict]:
    customers = [next_id() for _ in range(max(1, count // per_customer))]
    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(count):
        product_id, title, _handle, price = rng.choice(CATALOG)
        out.append(
            {
                "id": next_id(),
                "created_at": now,
                "updated_at": now,
                "currency": "USD",
                "total_price": price,
                "customer": {"id": customers[i % len(customers)], "first_name": rng.choice(["Maya", "Liam"])},
                "shipping_address": {"city": "Austin", "country_code": "US"},
                "line_items": [{"product_id": product_id, "title": title, "quantity": 1, "price": price}],
            }
        )
    return out


async def counted(client: redis.Redis) -> int:
    return sum(orjson.loads(v)["orders_count"] for v in await client.hvals(redis_keys.vips(SHOP)))


def processed(port: int) -> float:
    """Orders the worker on `port` processed so far (re-deliveries included), from its /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "storepulse_worker_orders_processed":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


async def ceiling(stack: Stack, n: int, timeout: float) -> dict:
    """The no-op agent of loadtests/ceiling_worker.py over the same records, on a group of its own."""
    port = free_port()
    env = {
        **stack.env,
        "STOREPULSE_APP_ID": f"bench-ceiling-{uuid.uuid4().hex[:8]}",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "6.0",
        "STOREPULSE_WORKER_PORT": str(port),
    }
    argv = [sys.executable, "-m", "loadtests.ceiling_worker"]
    child = spawn("ceiling", argv, port, env, log=stack.log("ceiling"))
    stack.children.append(child)
    wait_ready(port, 120, child)
    begin, cpu_at_begin = time.monotonic(), cpu_seconds(child.proc.pid)
    while True:
        done = processed(port)
        if done >= n or time.monotonic() - begin > timeout:
            break
        await asyncio.sleep(0.2)
    elapsed, cpu_s = time.monotonic() - begin, cpu_seconds(child.proc.pid) - cpu_at_begin
    child.stop()
    return {
        "orders_per_s": round(done / elapsed, 1),
        "orders_per_cpu_s": round(done / cpu_s, 1) if cpu_s else None,
    }


def batch_shapes(port: int) -> dict[str, dict[str, float]]:
    """Per agent: batches taken, mean events per batch and mean ms per batch, from the worker's
    /metrics (what decides how far per-batch costs amortise)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    sums: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name in ("storepulse_worker_batch_size", "storepulse_worker_batch_seconds"):
            for sample in family.samples:
                if sample.name.endswith(("_sum", "_count")):
                    kind = "events" if "size" in family.name else "seconds"
                    stat = sample.name.rpartition("_")[2]
                    sums[(sample.labels["agent"], f"{kind}_{stat}")] = sample.value
    out = {}
    for agent in sorted({agent for agent, _ in sums}):
        count = sums.get((agent, "events_count"), 0)
        if count:
            out[agent] = {
                "batches": count,
                "events_per_batch": round(sums[(agent, "events_sum")] / count, 1),
                "ms_per_batch": round(1000 * sums.get((agent, "seconds_sum"), 0) / count, 2),
            }
    return out


async def run(
    stack: Stack,
    n: int,
    per_customer: int,
    timeout: float,
    store: str = "memory",
    with_ceiling: bool = False,
    workers: int = 1,
) -> dict:
    batch = orders(n, per_customer, random.Random(7))
    started = time.monotonic()
    bootstrap = stack.env["KAFKA_URL"].removeprefix("kafka://")
    await produce(bootstrap, ((ORDERS_CREATE, SHOP, o) for o in batch))
    produce_s = time.monotonic() - started
    env = {
        "STOREPULSE_APP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "6.0",
        "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        "STOREPULSE_WORKER_STORE": store,
        "LOG_LEVEL": "warning",
    }
    group = [stack.start_service("worker", extra_env=env, name=f"worker-{i + 1}") for i in range(workers)]
    ready_s = max(wait_ready(w.port, 120, w) for w in group)
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    begin = time.monotonic()
    cpu_at_begin = [cpu_seconds(w.proc.pid) for w in group]
    done = 0
    # With fewer orders per customer than make a VIP, vips:{shop} never holds them all.
    all_vips = per_customer >= VIP_ORDERS
    with cpu_share({c.name: c.proc.pid for c in stack.children}) as cpu:
        while time.monotonic() - begin < timeout:
            done = await counted(client) if all_vips else int(sum(processed(w.port) for w in group))
            if done >= n:
                break
            await asyncio.sleep(0.2)
    elapsed = time.monotonic() - begin
    # On a shared machine wall time depends on everyone's load; the worker's own CPU for all of
    # the orders' work (the index and trend agents finish after the metrics) does not, so its
    # inverse is what one worker would do with a core of its own.
    worker_cpu_s = [
        await cpu_when_idle(w.proc.pid, timeout) - at_begin
        for w, at_begin in zip(group, cpu_at_begin, strict=True)
    ]
    shapes = batch_shapes(group[0].port)
    published = await client.xlen(redis_keys.recent_stream(SHOP))
    await client.aclose()
    rss_mb = max(psutil.Process(w.proc.pid).memory_info().rss for w in group) / 2**20
    for w in group:
        w.stop()  # before the ceiling runs: a core of its own, as the worker had
    return {
        "workers": workers,
        "orders": n,
        "store": store,
        "customers": max(1, n // per_customer),
        "processed": done,
        "seconds": round(elapsed, 2),
        "orders_per_s": round(done / elapsed, 1),
        "orders_per_worker_cpu_s": round(done / sum(worker_cpu_s), 1) if sum(worker_cpu_s) else None,
        "worker_cpu_s": [round(c, 1) for c in worker_cpu_s],
        "cpu": describe(cpu),
        "worker_ready_s": round(ready_s, 2),
        "produce_s": round(produce_s, 2),
        "recent_stream_len": published,
        "batches": shapes,
        "worker_rss_mb": round(rss_mb, 1),
        "ceiling": await ceiling(stack, n, timeout) if with_ceiling else None,
        "logs": str(stack.log_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--store", choices=("memory", "rocksdb"), default="memory", help="worker tables")
    parser.add_argument("--ceiling", action="store_true", help="also time loadtests.ceiling_worker")
    parser.add_argument("--workers", type=int, default=1, help="workers of one group")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    stack = Stack(env={"SHOPIFY_API_SECRET": "bench-secret"}, log_dir=Path(tempfile.mkdtemp(prefix="bench-")))
    stack.start_infra()
    try:
        result = asyncio.run(
            run(stack, args.orders, args.per_customer, args.timeout, args.store, args.ceiling, args.workers)
        )
    finally:
        stack.stop()
    print(
        f"{result['workers']} worker(s): {result['processed']}/{result['orders']} orders "
        f"in {result['seconds']} s: "
        f"{result['orders_per_s']} orders/s (worker ready in {result['worker_ready_s']} s); "
        f"{result['orders_per_worker_cpu_s']} orders per worker CPU second "
        f"(CPU s each: {result['worker_cpu_s']}); CPU % {result['cpu']}; "
        f"{result['customers']:,} customers, worker RSS {result['worker_rss_mb']} MB"
    )
    if top := result["ceiling"]:
        per_cpu = top["orders_per_cpu_s"]
        share = result["orders_per_worker_cpu_s"] / per_cpu * 100 if per_cpu else 0
        print(
            f"ceiling (a no-op agent, same app): {top['orders_per_s']} orders/s, {per_cpu} per CPU "
            f"second; the worker reaches {share:.0f} % of it per CPU second"
        )
    for agent, shape in result["batches"].items():
        print(
            f"  {agent}: {shape['batches']:.0f} batches, "
            f"{shape['events_per_batch']} events and {shape['ms_per_batch']} ms each"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
