"""The scheduled sync at scale against the fake Shopify at a standard and a Plus restore rate.

    python -m loadtests.bench_sync --orders 10000 --rates 100,1000 --json out.json

Starts the embedded stack and a worker, serves the fake Shopify (tests/fake_shopify) with the
shop's orders, all updated since the install, and Shopify's cost model for connections (2 points
plus one per 10 nodes asked for), then for each restore rate (points/s; the bucket holds 1,000 on
a standard plan, 10,000 on Plus) runs one incremental sync (`SyncRuns.run`, as a worker runs it)
of a new shop holding them: the time it took, the points spent, the worker's orders/s until every
order was applied, and then one reconciliation of those customers (all in step).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as redis

from ingest.producer import DurableProducer
from ingest.sync_runs import SyncRuns
from loadtests.cpu import cpu_share, describe
from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from storepulse import redis_keys
from storepulse.devstack import Stack, wait_ready
from storepulse.shops import ShopRegistry, token_cipher
from streams.domain.standing import read_row
from tests.fake_shopify import FakeShopify, customers, running_fake_shopify
from tests.fake_shopify.customers import add_order

SECRET = "bench-sync-secret-" + "x" * 16
TOKEN = "shpat_bench_sync"
PER_CUSTOMER = 2
FIRST_ID = 30_000_000


def shopify_cost(field: str, args: dict[str, Any]) -> float:
    """Shopify's requested cost of a connection: 2 plus a point per 10 nodes asked for."""
    return 2.0 + int(args.get("first") or 0) / 10 if "first" in args else 10.0


def seed(fake: FakeShopify, shop: str, orders: int) -> None:
    # Updated since the install, within the first sync's overlap window.
    start = datetime.now(UTC) - timedelta(seconds=200)
    for i in range(orders):
        at = (start + timedelta(seconds=100 * i / orders)).isoformat().replace("+00:00", "Z")
        add_order(
            fake,
            shop,
            {
                "id": f"gid://shopify/Order/{FIRST_ID + i}",
                "createdAt": at,
                "updatedAt": at,
                "cancelledAt": None,
                "customer": {"id": f"gid://shopify/Customer/{FIRST_ID + i // PER_CUSTOMER}"},
                "totalPriceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "EUR"}},
                "refunds": [],
            },
        )


async def applied(client: redis.Redis, shop: str, orders: int, timeout: float) -> float:
    """Seconds until the shop's customers count `orders` orders."""
    started = time.monotonic()
    while True:
        rows = [read_row(json.loads(v)) for v in (await client.hgetall(redis_keys.customers(shop))).values()]
        if sum(r["orders_count"] for r in rows) >= orders:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{shop}: orders not applied within {timeout:.0f} s")
        await asyncio.sleep(0.25)


def spent(fake: FakeShopify, shop: str) -> float:
    return sum(shopify_cost(c.field, c.arguments) for c in fake.calls if c.shop == shop and not c.throttled)


async def one_rate(stack: Stack, orders: int, rate: float, timeout: float) -> dict[str, Any]:
    shop = f"bench-sync-{uuid.uuid4().hex[:6]}.myshopify.com"
    bucket = 1000.0 if rate <= 100 else 10_000.0
    fake = customers.install(FakeShopify(max_points=bucket, restore_rate=rate, cost=shopify_cost))
    with running_fake_shopify(fake):
        fake.tokens[shop] = TOKEN
        seed(fake, shop, orders)
        settings = stack.settings(shopify_admin_base_url=fake.base_url_template(), webhooks_from_config=True)
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        registry = ShopRegistry(client, token_cipher(settings))
        await registry.install(shop, TOKEN, "read_orders")
        producer = DurableProducer(settings.kafka_bootstrap, idempotent=False, timeout=10)
        try:
            async with shopify_http(fake.base_url_template(), timeout=30.0) as http:
                api = AdminApi(http, registry.access_token, api_version=settings.shopify_api_version)
                runs = SyncRuns(client, registry, api, producer, settings)
                pids = {c.name: c.proc.pid for c in stack.children}
                with cpu_share(pids) as cpu:
                    started = time.monotonic()
                    outcome = await runs.run(shop)
                    sync_s = time.monotonic() - started
                    applied_s = sync_s + await applied(client, shop, orders, timeout)
                sync_points = spent(fake, shop)
                # Reconciliation of the same shop, every customer now in step.
                settings.sync_reconcile_interval = 1e-6
                await client.hset(
                    redis_keys.sync_status(shop),
                    "reconciled",
                    json.dumps({"started_at": "2000-01-01T00:00:00Z"}),
                )
                started = time.monotonic()
                reconciled = await runs.run(shop)
                reconcile_s = time.monotonic() - started
        finally:
            await producer.stop()
            await client.aclose()
    return {
        "restore_rate": rate,
        "orders": orders,
        "orders_fetched": outcome.orders_fetched,
        "sync_s": round(sync_s, 2),
        "applied_s": round(applied_s, 2),
        "points": round(sync_points),
        "worker_orders_per_s": round(orders / applied_s),
        "customers": (reconciled.drift or {}).get("customers"),
        "drift_found": (reconciled.drift or {}).get("found"),
        "reconcile_s": round(reconcile_s, 2),
        "reconcile_points": round(spent(fake, shop) - sync_points),
        "cpu": describe(cpu),
    }


async def run(stack: Stack, orders: int, rates: list[float], timeout: float) -> dict[str, Any]:
    worker = stack.start_service(
        "worker",
        extra_env={
            "STOREPULSE_APP_ID": f"bench-sync-{uuid.uuid4().hex[:8]}",
            "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        },
    )
    wait_ready(worker.port, 120, worker)
    results = [await one_rate(stack, orders, rate, timeout) for rate in rates]
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rates", default="100,1000", help="restore rates (points/s), comma-separated")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds each wait may take")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    env = {"SHOPIFY_API_SECRET": SECRET, "LOG_LEVEL": "warning"}
    stack = Stack(env=env, log_dir=Path(tempfile.mkdtemp(prefix="bench-sync-")))
    stack.start_infra()
    try:
        result = asyncio.run(run(stack, args.orders, [float(r) for r in args.rates.split(",")], args.timeout))
    finally:
        stack.stop()
    for r in result["runs"]:
        print(
            f"restore {r['restore_rate']:,.0f} points/s: incremental sync of {r['orders']:,} orders in "
            f"{r['sync_s']} s ({r['points']:,} points), all applied after {r['applied_s']} s "
            f"({r['worker_orders_per_s']:,} orders/s); reconciliation of {r['customers']:,} customers in "
            f"{r['reconcile_s']} s ({r['reconcile_points']:,} points, {r['drift_found']} differing); "
            f"CPU % {r['cpu']}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
