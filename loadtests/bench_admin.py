"""The merchant app's customer list at scale: 100,000 customers through the real pipeline.

    python -m loadtests.bench_admin --customers 100000 --json out.json

Starts the embedded stack, produces the customers' orders (1 to 3 each, over two years) to
Kafka as ingest would, lets one worker count them into the read models, then starts ingest (the
app is served by it) and times, one request at a time, pages of `GET /app/api/customers` for
every sort in both orders and a range of filters: each walk's first page (which orders the list)
and its following pages by cursor. Then the CSV of every customer, timed to its last byte while
ingest's resident memory is sampled. The shop grants no customer data, so no names are asked of
Shopify (there is none here): the figures are StorePulse's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis.asyncio as redis

from admin.customer_index import CustomerIndexes
from admin.session import dev_session_token
from loadtests.cpu import cpu_share, describe
from loadtests.kafka_feed import produce
from loadtests.payloads import CATALOG, order
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Stack, wait_ready
from storepulse.shops import open_registry

SHOP = "bench-admin.myshopify.com"
SECRET = "bench-admin-secret-" + "x" * 16
API_KEY = "bench-admin-app"
ADMIN_TOKEN = "bench-admin-token"
PAGES_PER_WALK = 20
FIRST_PAGES_PER_QUERY = 5
TARGET_P99_MS = 150
TARGET_CSV_S = 10


def orders(customers: int, rng: random.Random) -> list[dict[str, Any]]:
    """1-3 orders per customer, spread over two years, amounts to the cent."""
    now = datetime.now(UTC)
    out = []
    for customer in range(1, customers + 1):
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            at = (now - timedelta(days=rng.uniform(0, 730))).isoformat()
            cents = rng.randint(500, 40_000)
            o = order(customer_id=10_000_000 + customer, rng=rng, product=rng.choice(CATALOG))
            out.append(o | {"created_at": at, "updated_at": at, "total_price": f"{cents / 100:.2f}"})
    return out


def queries() -> list[dict[str, str]]:
    """Every sort in both orders, then filters alone and together."""
    today = datetime.now(UTC).date()
    recent = {"last_order_from": (today - timedelta(days=90)).isoformat()}
    window = {
        "last_order_from": (today - timedelta(days=400)).isoformat(),
        "last_order_to": (today - timedelta(days=100)).isoformat(),
    }
    sorts = [
        {"sort": s, "order": o}
        for s in ("net_spent", "total_spent", "orders_count", "last_order_at")
        for o in ("desc", "asc")
    ]
    filters = [
        {"tier": "VIP"},
        {"segment": "at risk"},
        {"segment": "champions", "sort": "last_order_at"},
        {"min_orders": "2", "sort": "orders_count", "order": "asc"},
        recent,
        {**window, "sort": "total_spent"},
        {"tier": "VIP", "segment": "loyal", "min_orders": "3", **window},
    ]
    return sorts + filters


@dataclass
class Timings:
    first: list[float]
    later: list[float]

    def summary(self) -> dict[str, float]:
        every = self.first + self.later
        return {
            "requests": len(every),
            "p50_ms": round(statistics.median(every), 1),
            "p99_ms": round(_p99(every), 1),
            "max_ms": round(max(every), 1),
            "first_page_p99_ms": round(_p99(self.first), 1),
            "later_page_p99_ms": round(_p99(self.later), 1) if self.later else 0.0,
        }


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


async def counted(client: redis.Redis, expected_orders: int, customers: int, timeout: float) -> float:
    """Seconds until the worker's read models hold every customer with every order."""
    indexes = CustomerIndexes(client, max_rows=customers * 2)
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        index = await indexes.get(SHOP)
        if index.size == customers and int(index.column("orders_count").sum()) == expected_orders:
            return time.monotonic() - began
        await asyncio.sleep(1.0)
    raise TimeoutError(f"the worker did not count {expected_orders} orders in {timeout:.0f} s")


async def timed_get(http: httpx.AsyncClient, path: str, params: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = await http.get(path, params=params)
    took = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return took, answer.json()


async def measure_pages(http: httpx.AsyncClient) -> tuple[Timings, list[dict[str, Any]]]:
    timings = Timings([], [])
    per_query = []
    for query in queries():
        firsts = []
        for _ in range(FIRST_PAGES_PER_QUERY):  # each a new walk: the list is ordered again
            took, page = await timed_get(http, "/app/api/customers", query)
            firsts.append(took)
        timings.first += firsts
        cursor = page["next"]
        for _ in range(PAGES_PER_WALK - 1):
            if not cursor:
                break
            took, next_page = await timed_get(http, "/app/api/customers", {**query, "cursor": cursor})
            timings.later.append(took)
            cursor = next_page["next"]
        per_query.append(
            {
                "query": query,
                "total": page["total"],
                "first_page_median_ms": round(statistics.median(firsts), 1),
            }
        )
    return timings, per_query


async def measure_csv(http: httpx.AsyncClient, ingest_pid: int) -> dict[str, Any]:
    process = psutil.Process(ingest_pid)
    before = process.memory_info().rss
    peak, rows, size = before, 0, 0
    started = time.perf_counter()
    async with http.stream("GET", "/app/api/customers.csv") as answer:
        answer.raise_for_status()
        async for chunk in answer.aiter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\n")
            peak = max(peak, process.memory_info().rss)
    seconds = time.perf_counter() - started
    return {
        "csv_rows": rows - 1,
        "csv_mb": round(size / 2**20, 1),
        "csv_s": round(seconds, 2),
        "ingest_rss_before_mb": round(before / 2**20, 1),
        "ingest_rss_peak_mb": round(max(peak, process.memory_info().rss) / 2**20, 1),
    }


async def run(stack: Stack, customers: int, timeout: float) -> dict[str, Any]:
    batch = orders(customers, random.Random(11))
    bootstrap = stack.env["KAFKA_URL"].removeprefix("kafka://")
    registry = open_registry(stack.settings())
    await registry.install(SHOP, "bench-token", "read_orders")  # no customer data: no names asked
    await registry.aclose()
    started = time.monotonic()
    await produce(bootstrap, ((ORDERS_CREATE, SHOP, o) for o in batch))
    produce_s = time.monotonic() - started
    worker = stack.start_service(
        "worker",
        extra_env={
            "STOREPULSE_APP_ID": f"bench-admin-{uuid.uuid4().hex[:8]}",
            "STOREPULSE_WRITEBACK_DRY_RUN": "true",  # no Shopify here to tag VIPs on
        },
    )
    wait_ready(worker.port, 120, worker)
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        pipeline_s = await counted(client, len(batch), customers, timeout)
    finally:
        await client.aclose()
    ingest = stack.start_service(
        "ingest",
        extra_env={"SHOPIFY_API_KEY": API_KEY, "STOREPULSE_ADMIN_API_URL": f"http://127.0.0.1:{worker.port}"},
    )
    wait_ready(ingest.port, 60, ingest)
    token = dev_session_token(SHOP, API_KEY, SECRET)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{ingest.port}", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        # The first request of a process loads the shop's index; it is reported on its own.
        index_load_ms, _ = await timed_get(http, "/app/api/customers", {"limit": "1"})
        pids = {c.name: c.proc.pid for c in stack.children}
        with cpu_share(pids) as cpu:  # how busy the machine was: other users' load is noise
            timings, per_query = await measure_pages(http)
            csv = await measure_csv(http, ingest.proc.pid)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "customers": customers,
        "orders": len(batch),
        "produce_s": round(produce_s, 1),
        "pipeline_s": round(pipeline_s, 1),
        "index_load_ms": round(index_load_ms, 1),
        "page_size": 50,
        **timings.summary(),
        "queries": per_query,
        **csv,
        "cpu": describe(cpu),
        "target_p99_ms": TARGET_P99_MS,
        "target_csv_s": TARGET_CSV_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the worker may take")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    env = {"SHOPIFY_API_SECRET": SECRET, "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "warning"}
    stack = Stack(env=env, log_dir=Path(tempfile.mkdtemp(prefix="bench-admin-")))
    stack.start_infra()
    try:
        result = asyncio.run(run(stack, args.customers, args.timeout))
    finally:
        stack.stop()
    print(
        f"{result['customers']:,} customers ({result['orders']:,} orders, "
        f"counted in {result['pipeline_s']} s): "
        f"customer list p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (first pages "
        f"{result['first_page_p99_ms']}, later {result['later_page_p99_ms']}) over {result['requests']} "
        f"requests; CSV of all in {result['csv_s']} s, ingest RSS {result['ingest_rss_before_mb']} → "
        f"{result['ingest_rss_peak_mb']} MB; CPU % {result['cpu']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
