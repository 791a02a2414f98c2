"""Production tables on RocksDB hold what the in-memory tables hold, and keep it across a clean
restart: two workers of different groups read the same webhooks, one on each store (on a broker
and Redis of the module's own: three worker starts would disturb the session's other tests)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import orjson

from loadtests.payloads import CATALOG, order, refund
from shopify.topics import ORDERS_CREATE, REFUNDS_CREATE
from storepulse.devstack import Child, Stack, wait_ready
from tests.support.eventually import eventually
from tests.support.kafka import produce_webhooks
from tests.support.stack import ADMIN_AUTH, STACK_ENV, new_shop_domain, worker_env

CUSTOMERS = 6


def webhooks(shop: str, customers: list[int], rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    """Three orders per customer and a refund of each customer's first (refunds name only the
    order: they reach the customer through the order index, a table of its own)."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for customer in customers:
        placed = [order(customer_id=customer, rng=rng, product=rng.choice(CATALOG)) for _ in range(3)]
        out += [(ORDERS_CREATE, shop, o) for o in placed]
        out.append((REFUNDS_CREATE, shop, refund(placed[0], "1.00")))
    return out


def start(stack: Stack, env: dict[str, str], name: str) -> Child:
    worker = stack.start_service("worker", extra_env=env, name=name)
    wait_ready(worker.port, 90, worker)
    return worker


async def customers_of(worker: Child, shop: str, customers: list[int], orders: int) -> list[dict[str, Any]]:
    """Each customer as the worker's admin API shows them, once each counts `orders` orders and
    the refunds of them (net below total)."""
    url = f"http://127.0.0.1:{worker.port}"
    async with httpx.AsyncClient(base_url=url, headers=ADMIN_AUTH, timeout=10) as client:

        async def all_there() -> list[dict[str, Any]] | None:
            found = []
            for customer in customers:
                response = await client.get(f"/shops/{shop}/customers/{customer}")
                if not response.is_success:
                    return None
                body = response.json()
                if body["orders_count"] != orders or body["net_spent"] == body["total_spent"]:
                    return None
                found.append(body)
            return found

        return await eventually(all_there, timeout=60, what=f"{worker.name} counting {orders} orders each")


def customer_table_files(datadir: Path) -> list[Path]:
    return list(datadir.rglob("customer-metrics-*.db"))


def kept_on_disk(stack: Stack, name: str) -> bool:
    """What the worker's start said of the tables it found on disk (its JSON log line)."""
    log = stack.log(name)
    assert log is not None
    [line] = [orjson.loads(line) for line in log.read_text().splitlines() if '"worker_tables"' in line]
    return bool(line["kept_on_disk"])


async def test_rocksdb_tables_read_back_what_memory_tables_hold_and_keep_it_after_a_clean_stop(
    own_stack: Stack, tmp_path: Path
) -> None:
    stack, shop = own_stack, new_shop_domain()
    rng = random.Random(19)
    customers = [rng.randrange(10**12, 10**13) for _ in range(CUSTOMERS)]
    # The session stack's admin token (own_stack has none) and dry write-back.
    memory_env = {**STACK_ENV, **worker_env(), "STOREPULSE_WORKER_STORE": "memory"}
    rocksdb_env = {
        **STACK_ENV,
        **worker_env(),
        "STOREPULSE_WORKER_STORE": "rocksdb",
        "STOREPULSE_WORKER_DATADIR": str(tmp_path),
    }

    await produce_webhooks(stack, webhooks(shop, customers, rng))
    in_memory = start(stack, memory_env, "worker-memory")
    on_disk = start(stack, rocksdb_env, "worker-rocksdb-1")
    try:
        held = await customers_of(in_memory, shop, customers, 3)
        assert await customers_of(on_disk, shop, customers, 3) == held
        on_disk.stop()
        assert customer_table_files(tmp_path), "no RocksDB files for the customer table"

        # More of the same while it is away; the restarted worker reads the rest of the changelogs.
        await produce_webhooks(stack, webhooks(shop, customers, rng))
        restarted = start(stack, rocksdb_env, "worker-rocksdb-2")
        try:
            held = await customers_of(in_memory, shop, customers, 6)
            assert await customers_of(restarted, shop, customers, 6) == held
        finally:
            restarted.stop()
    finally:
        in_memory.stop()
        on_disk.stop()
    # The first start had nothing on disk to trust; the restart after a clean stop kept its tables.
    assert not kept_on_disk(stack, "worker-rocksdb-1")
    assert kept_on_disk(stack, "worker-rocksdb-2")
