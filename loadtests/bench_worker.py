"""Orders/s streams workers of one group process with metrics, tiers and notifications on.

    python -m loadtests.bench_worker --orders 100000 --json out.json
    python -m loadtests.bench_worker --orders 100000 --workers 2    # the partitions split between them

Starts the embedded stack (storepulse.devstack), produces N orders (10 per customer, so every
customer crosses the VIP threshold and tier changes flow to `customer.changes`) with aiokafka,
then starts the workers (one by default) and times them from all ready until `vips:{shop}` counts
every order; the orders spread over every partition, so each worker gets its share. Tag
write-back runs dry (no Shopify here); purchase notifications are published to Redis as usual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import redis.asyncio as redis

from loadtests.cpu import cpu_seconds, cpu_share, cpu_when_idle, describe
from loadtests.kafka_feed import produce
from loadtests.payloads import CATALOG, next_id
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import Stack, wait_ready

SHOP = "bench-store.myshopify.com"


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


async def run(stack: Stack, n: int, per_customer: int, timeout: float, workers: int = 1) -> dict:
    batch = orders(n, per_customer, random.Random(7))
    started = time.monotonic()
    bootstrap = stack.env["KAFKA_URL"].removeprefix("kafka://")
    await produce(bootstrap, ((ORDERS_CREATE, SHOP, o) for o in batch))
    produce_s = time.monotonic() - started
    env = {
        "STOREPULSE_APP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "6.0",
        "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        "LOG_LEVEL": "warning",
    }
    group = [stack.start_service("worker", extra_env=env, name=f"worker-{i + 1}") for i in range(workers)]
    ready_s = max(wait_ready(w.port, 120, w) for w in group)
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    begin = time.monotonic()
    cpu_at_begin = [cpu_seconds(w.proc.pid) for w in group]
    done = 0
    with cpu_share({c.name: c.proc.pid for c in stack.children}) as cpu:
        while time.monotonic() - begin < timeout:
            done = await counted(client)
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
    published = await client.xlen(redis_keys.recent_stream(SHOP))
    await client.aclose()
    return {
        "workers": workers,
        "orders": n,
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
        "logs": str(stack.log_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=1, help="workers of one group")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    stack = Stack(env={"SHOPIFY_API_SECRET": "bench-secret"}, log_dir=Path(tempfile.mkdtemp(prefix="bench-")))
    stack.start_infra()
    try:
        result = asyncio.run(run(stack, args.orders, args.per_customer, args.timeout, args.workers))
    finally:
        stack.stop()
    print(
        f"{result['workers']} worker(s): {result['processed']}/{result['orders']} orders "
        f"in {result['seconds']} s: "
        f"{result['orders_per_s']} orders/s (worker ready in {result['worker_ready_s']} s); "
        f"{result['orders_per_worker_cpu_s']} orders per worker CPU second "
        f"(CPU s each: {result['worker_cpu_s']}); CPU % {result['cpu']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
