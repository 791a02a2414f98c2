"""How many processes, partitions and how much Redis a deployment needs, from measured figures.

    python -m loadtests.capacity [--figures docs/benchmarks.json] [--redis docs/redis-footprint.json]

Reads what one process of each kind did in the last `make bench` (docs/benchmarks.json) and what
one shop costs in Redis (docs/redis-footprint.json, also written by `make bench`), and prints the
sizing table of docs/scaling.md for 1,000 / 10,000 / 100,000 shops, each on an ordinary busy hour
and at a Black Friday peak. Everything not measured is an estimate in `ESTIMATES`, printed below
the table with its reasoning, so every figure is either measured or says why it was assumed.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.results import Results, push_rows
from storepulse.settings import Settings

LATENCY_BOUND_MS = 250  # a per-process figure counts only where p99 stayed under this
SHOP_COUNTS = (1_000, 10_000, 100_000)
BLACK_FRIDAY_ORDERS_PER_S = 1_000  # platform-wide: the peak the deployment is sized for
BLACK_FRIDAY_VISITORS = 1_000_000  # concurrent storefront visitors at that peak
MIN_PARTITIONS = 24  # docker-compose.yml's KAFKA_PARTITIONS; counts go up in dozens (divisible by 2, 3, 4, 6)


@dataclass(frozen=True)
class Estimate:
    value: float
    why: str


ESTIMATES: dict[str, Estimate] = {
    "orders_per_shop_s": Estimate(
        0.002,
        "an ordinary shop's busiest hour: ~7 orders (about 4 times the hourly average of a shop with "
        "~40 orders a day; StorePulse's merchants are mostly small)",
    ),
    "visitors_per_order_s": Estimate(
        1_000,
        "visitors browsing per order/s, from the Black Friday figures sized for (1 M visitors at "
        "1,000 orders/s); ordinary hours are assumed to convert alike",
    ),
    "webhooks_per_order": Estimate(
        4,
        "orders/create, orders/paid and one or two orders/updated (fulfilment, edits) per order; "
        "cancels, refunds, customer and product webhooks are rarer",
    ),
    "beacons_per_visitor_s": Estimate(
        1 / 30,
        "the widget's page_view on each page (one every ~30 s of browsing) plus toast impressions",
    ),
    "ingest_cost_per_beacon": Estimate(
        1.0,
        "a beacon costs ingest what a webhook does (not measured: it is smaller and unsigned, but "
        "rate-limited per address and shop), in webhooks",
    ),
    "worker_cost_per_webhook": Estimate(
        1.0,
        "every order webhook costs the worker what an orders/create does (measured); updates take "
        "the same ledger path minus the notification, so this is conservative",
    ),
    "worker_cost_per_beacon": Estimate(
        0.25,
        "a page_view is one fold of its product's viewer window, written once per batch: a quarter "
        "of an order's work (not measured), in orders",
    ),
    "notifications_per_order": Estimate(
        1.1, "one purchase notification, and now and then a trending one when a product crosses a step"
    ),
    "peak_to_average": Estimate(
        4, "a day's orders are a quarter of what its busiest hour's rate would make in 24 hours"
    ),
    "customers_per_shop": Estimate(
        2_000, "customers with an order per shop, lifetime (each one in segments:{shop})"
    ),
    "vip_share": Estimate(0.1, "customers holding a tier (each one also in vips:{shop})"),
    "utilisation": Estimate(
        0.7,
        "ingest and workers are planned at 70 % of measured capacity: bursts inside the peak minute, "
        "a process restarting, noisy neighbours",
    ),
    "push_utilisation": Estimate(
        0.8, "push processes planned at 80 % of measured clients (the alert in operations.md)"
    ),
    "partition_headroom": Estimate(
        2, "partitions per planned worker: workers can double without repartitioning, which moves customers"
    ),
    "redis_headroom": Estimate(
        1.5, "maxmemory over the data: allocator fragmentation and growth until resized"
    ),
}


def estimate(name: str) -> float:
    return ESTIMATES[name].value


@dataclass(frozen=True)
class PerProcess:
    """What one process of each kind handled in the measured run, within LATENCY_BOUND_MS p99."""

    ingest_webhooks_per_s: float
    worker_orders_per_s: float
    push_clients: int
    push_mb_per_1000_clients: float
    push_messages_per_s: float
    measured_on: str


@dataclass(frozen=True)
class ShopBytes:
    """Redis bytes, measured with MEMORY USAGE (loadtests/redis_footprint.py)."""

    record: float
    recent_stream: float
    notified_marker: float
    per_customer: float
    per_vip: float


def per_process(results: Results) -> PerProcess:
    ingest = [r for r in results.ingest if r.ok == r.sent and r.p99_ms < LATENCY_BOUND_MS]
    worker = results.worker.data if results.worker and isinstance(results.worker.data, dict) else {}
    push = [
        r
        for r in push_rows(results.push.data if results.push else None)
        if r.held == r.clients and r.p99_ms is not None and r.p99_ms < LATENCY_BOUND_MS
    ]
    if not (ingest and worker.get("orders_per_s") and push):
        raise ValueError("the figures lack an ingest, worker or push measurement within the bound")
    best_push = max(push, key=lambda r: r.clients)
    # The wall-clock rate shared the machine's cores with the broker; per worker CPU second is what
    # the worker does on a core of its own. The lower of the two is what is planned with.
    per_cpu = worker.get("orders_per_worker_cpu_s") or worker["orders_per_s"]
    return PerProcess(
        ingest_webhooks_per_s=max(r.answers_per_s for r in ingest),
        worker_orders_per_s=min(worker["orders_per_s"], per_cpu),
        push_clients=best_push.clients,
        push_mb_per_1000_clients=best_push.mb_per_1000 or 0.0,
        push_messages_per_s=best_push.messages_per_s or 0.0,
        measured_on=results.machine.summary(),
    )


def shop_bytes(footprint: Mapping[str, Any]) -> ShopBytes:
    return ShopBytes(
        record=footprint["shop_record_bytes"],
        recent_stream=footprint["recent_stream_bytes"],
        notified_marker=footprint["notified_marker_bytes"],
        # Its segment, and its row in the merchant app's customer list.
        per_customer=footprint["segment_bytes_per_customer"] + footprint["customer_row_bytes_per_customer"],
        per_vip=footprint["vip_bytes_per_vip"],
    )


@dataclass(frozen=True)
class Load:
    name: str
    shops: int
    orders_per_s: float
    visitors: int


def loads(shop_counts: Sequence[int] = SHOP_COUNTS) -> list[Load]:
    """Each shop count on an ordinary busy hour, then at the Black Friday peak."""
    out = []
    for shops in shop_counts:
        orders = shops * estimate("orders_per_shop_s")
        out.append(Load("busy hour", shops, orders, round(orders * estimate("visitors_per_order_s"))))
        out.append(Load("Black Friday", shops, BLACK_FRIDAY_ORDERS_PER_S, BLACK_FRIDAY_VISITORS))
    return out


@dataclass(frozen=True)
class Sizing:
    load: Load
    ingest_requests_per_s: float
    ingest: int
    workers: int
    partitions: int
    push: int
    push_mb_each: float
    deliveries_per_push_s: float
    redis_gb: float
    redis_maxmemory_gb: float
    # Whether each push process's deliveries/s stay within what one was measured delivering.
    deliveries_measured: bool


def processes(load_per_s: float, capacity_per_s: float, utilisation: float) -> int:
    """Processes to carry `load_per_s` at `utilisation` of each one's capacity; two at least, so
    one can fail or restart."""
    return max(2, math.ceil(load_per_s / (capacity_per_s * utilisation)))


def size(load: Load, measured: PerProcess, shop: ShopBytes, notification_ttl_s: float) -> Sizing:
    webhooks = load.orders_per_s * estimate("webhooks_per_order")
    beacons = load.visitors * estimate("beacons_per_visitor_s")
    ingest_load = webhooks + beacons * estimate("ingest_cost_per_beacon")
    worker_load = webhooks * estimate("worker_cost_per_webhook") + beacons * estimate(
        "worker_cost_per_beacon"
    )
    ingest = processes(ingest_load, measured.ingest_webhooks_per_s, estimate("utilisation"))
    workers = processes(worker_load, measured.worker_orders_per_s, estimate("utilisation"))
    partitions = max(MIN_PARTITIONS, 12 * math.ceil(workers * estimate("partition_headroom") / 12))
    push = processes(load.visitors, measured.push_clients, estimate("push_utilisation"))
    notifications = load.orders_per_s * estimate("notifications_per_order")
    # Every client of a shop receives each of its notifications; with visitors spread evenly over
    # the shops that is the notifications times the visitors per shop.
    deliveries = notifications * load.visitors / load.shops
    markers = notifications / estimate("peak_to_average") * notification_ttl_s  # one per notification kept
    customers = load.shops * estimate("customers_per_shop")
    data = (
        load.shops * (shop.record + shop.recent_stream)
        + markers * shop.notified_marker
        + customers * (shop.per_customer + estimate("vip_share") * shop.per_vip)
    )
    return Sizing(
        load=load,
        ingest_requests_per_s=ingest_load,
        ingest=ingest,
        workers=workers,
        partitions=partitions,
        push=push,
        push_mb_each=load.visitors / push / 1000 * measured.push_mb_per_1000_clients,
        deliveries_per_push_s=deliveries / push,
        redis_gb=data / 1e9,
        redis_maxmemory_gb=data * estimate("redis_headroom") / 1e9,
        deliveries_measured=deliveries / push <= measured.push_messages_per_s,
    )


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def table(sizings: Sequence[Sizing]) -> list[str]:
    header = [
        "shops",
        "load",
        "orders/s",
        "visitors",
        "ingest req/s",
        "ingest",
        "workers",
        "partitions",
        "push",
        "deliveries/s per push",
        "Redis data",
        "maxmemory",
    ]
    rows = [
        [
            _n(s.load.shops),
            s.load.name,
            _n(s.load.orders_per_s),
            _n(s.load.visitors),
            _n(s.ingest_requests_per_s),
            _n(s.ingest),
            _n(s.workers),
            _n(s.partitions),
            f"{_n(s.push)} ({_n(s.push_mb_each)} MB each)",
            _n(s.deliveries_per_push_s) + ("" if s.deliveries_measured else " ²"),
            f"{s.redis_gb:,.1f} GB",
            f"{s.redis_maxmemory_gb:,.1f} GB",
        ]
        for s in sizings
    ]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def report(measured: PerProcess, shop: ShopBytes, sizings: Sequence[Sizing], sources: Sequence[str]) -> str:
    lines = [
        f"Per process, measured ({measured.measured_on}; {', '.join(sources)}): ingest "
        f"{_n(measured.ingest_webhooks_per_s)} webhooks/s, a worker {_n(measured.worker_orders_per_s)} "
        f"orders/s, push {_n(measured.push_clients)} clients ({_n(measured.push_mb_per_1000_clients, 1)} MB "
        f"per 1,000, {_n(measured.push_messages_per_s)} deliveries/s), each with p99 under "
        f"{LATENCY_BOUND_MS} ms. Redis, measured: {_n(shop.recent_stream / 1000, 1)} KB of recent "
        f"notifications and {_n(shop.record)} B of registry per shop, {_n(shop.notified_marker)} B per "
        f"notification marker, {_n(shop.per_customer)} B per customer, {_n(shop.per_vip)} B more per VIP.",
        "",
        *table(sizings),
        "",
        "² more deliveries per process than one push process was measured making: an extrapolation.",
        "",
        "Estimates (loadtests/capacity.py `ESTIMATES`):",
        "",
        *(f"- `{name}` = {_n(e.value, 3).rstrip('0').rstrip('.')}: {e.why}" for name, e in ESTIMATES.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.capacity", description=__doc__)
    parser.add_argument("--figures", type=Path, default=Path("docs/benchmarks.json"))
    parser.add_argument("--redis", type=Path, default=Path("docs/redis-footprint.json"))
    parser.add_argument(
        "--notification-ttl-s",
        type=int,
        default=Settings.model_fields["notification_ttl_s"].default,
        help="how long each notification's `notified` marker lives (STOREPULSE_NOTIFICATION_TTL_S)",
    )
    args = parser.parse_args(argv)
    measured = per_process(Results.from_json(args.figures.read_bytes()))
    shop = shop_bytes(json.loads(args.redis.read_text()))
    sizings = [size(load, measured, shop, args.notification_ttl_s) for load in loads()]
    print(report(measured, shop, sizings, [str(args.figures), str(args.redis)]))


if __name__ == "__main__":
    main()
