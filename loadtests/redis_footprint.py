"""Bytes of Redis one shop costs, measured with MEMORY USAGE on keys the services' own code writes.

    python -m loadtests.redis_footprint --json docs/redis-footprint.json

Starts a throwaway Redis (storepulse.devstack), then writes through the real code: the shop's
registry record (ShopRegistry.install), a full `recent:{shop}` stream of purchase notifications
made from simulated orders (NotificationPublisher, which also sets each notification's `notified`
marker), and the read models of customers whose metrics came from those orders (ReadModels:
`segments`, `vips`, and the merchant app's list rows `customers` with their `customer-versions`).
`make bench` runs it; `python -m loadtests.capacity` reads the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as redis
from cryptography.fernet import Fernet, MultiFernet

from loadtests.payloads import next_id, order
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.contracts import ShopSettings
from storepulse.devstack import start_redis
from storepulse.logging import configure_logging
from storepulse.shops import ShopRegistry
from streams.agents.read_models import ReadModels, Touched
from streams.domain.customer_metrics import apply_event
from streams.domain.customer_state import CustomerState
from streams.domain.notifications import purchase_notification
from streams.domain.standing import refresh
from streams.runtime.publisher import NotificationPublisher

SHOP = "footprint-store.myshopify.com"
RECENT_MAXLEN = 100  # the worker's default `recent_maxlen`
CUSTOMERS = 2_000
ORDERS_PER_VIP = 3  # the default tier: three orders


async def usage(client: redis.Redis, key: str) -> int:
    return int(await client.memory_usage(key, samples=0) or 0)


async def measure(client: redis.Redis) -> dict[str, Any]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    await ShopRegistry(client, MultiFernet([Fernet(Fernet.generate_key())])).install(
        SHOP, "shpat_" + "x" * 32, "read_orders,write_customers"
    )
    notes = [
        note
        for _ in range(RECENT_MAXLEN)
        if (
            note := purchase_notification(
                SHOP, order(rng=rng), now=now, rules=ShopSettings(shop=SHOP), catalog={}
            )
        )
    ]
    await NotificationPublisher(client, ttl_s=7 * 24 * 3600, maxlen=RECENT_MAXLEN).publish(notes)
    # Every customer in `segments`; the tenth of them with three orders hold the tier, in `vips` too.
    touched: Touched = {}
    for i in range(CUSTOMERS):
        customer = str(next_id())
        state = CustomerState(SHOP, customer)
        for _ in range(ORDERS_PER_VIP if i % 10 == 0 else 1):
            apply_event(state, ORDERS_CREATE, order(rng=rng, customer_id=int(customer)))
        refresh(state, ShopSettings(shop=SHOP), now)
        touched[f"{SHOP}/{customer}".encode()] = state
    await ReadModels(client).write(touched, [], [])
    vips = await client.hlen(redis_keys.vips(SHOP))
    return {
        "shop_record_bytes": await usage(client, redis_keys.shop_record(SHOP)),
        "recent_stream_bytes": await usage(client, redis_keys.recent_stream(SHOP)),
        "recent_stream_entries": len(notes),
        "notified_marker_bytes": await usage(client, redis_keys.notified(SHOP, notes[0].id)),
        "segment_bytes_per_customer": round(await usage(client, redis_keys.segments(SHOP)) / CUSTOMERS, 1),
        "vip_bytes_per_vip": round(await usage(client, redis_keys.vips(SHOP)) / vips, 1),
        "customer_row_bytes_per_customer": round(
            (
                await usage(client, redis_keys.customers(SHOP))
                + await usage(client, redis_keys.customer_versions(SHOP))
            )
            / CUSTOMERS,
            1,
        ),
        "customers": CUSTOMERS,
        "vips": vips,
        "redis": (await client.info("server"))["redis_version"],
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
    }


async def run() -> dict[str, Any]:
    server = start_redis(log=Path(tempfile.mkdtemp(prefix="storepulse-footprint-")) / "redis.log")
    client = redis.Redis(port=server.port)
    try:
        return await measure(client)
    finally:
        await client.aclose()
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.redis_footprint", description=__doc__)
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args(argv)
    configure_logging("warning")  # the publisher's per-notification lines are not the result
    result = asyncio.run(run())
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
