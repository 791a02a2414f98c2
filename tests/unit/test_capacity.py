"""The capacity arithmetic of loadtests/capacity.py, and docs/scaling.md showing what it prints now."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from loadtests import capacity
from loadtests.capacity import Estimate, Load, PerProcess, ShopBytes, loads, per_process, size
from loadtests.results import Results

ROOT = Path(__file__).resolve().parents[2]
SIMPLE = {
    "webhooks_per_order": 4,
    "beacons_per_visitor_s": 0.01,
    "ingest_cost_per_beacon": 1,
    "worker_cost_per_webhook": 1,
    "worker_cost_per_beacon": 0.5,
    "notifications_per_order": 1,
    "peak_to_average": 2,
    "customers_per_shop": 100,
    "vip_share": 0.5,
    "utilisation": 0.5,
    "push_utilisation": 0.5,
    "partition_headroom": 2,
    "redis_headroom": 2,
}
MEASURED = PerProcess(
    ingest_webhooks_per_s=100,
    worker_orders_per_s=50,
    push_clients=1_000,
    push_mb_per_1000_clients=10,
    push_messages_per_s=4_000,
    measured_on="a test",
)
BYTES = ShopBytes(record=500, recent_stream=50_000, notified_marker=100, per_customer=50, per_vip=100)


@pytest.fixture
def simple_estimates(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SIMPLE.items():
        monkeypatch.setitem(capacity.ESTIMATES, name, Estimate(value, "round numbers for the test"))


@pytest.mark.usefixtures("simple_estimates")
def test_processes_partitions_and_redis_follow_from_the_load_and_the_per_process_figures() -> None:
    sized = size(
        Load("test", shops=10, orders_per_s=100, visitors=20_000), MEASURED, BYTES, notification_ttl_s=1_000
    )
    # ingest: 400 webhooks/s + 200 beacons/s, at half of 100/s each
    assert (sized.ingest_requests_per_s, sized.ingest) == (600, 12)
    # workers: 400 + 200 * 0.5 order-equivalents/s at half of 50/s; partitions: 2 per worker, in dozens
    assert (sized.workers, sized.partitions) == (20, 48)
    # push: 20,000 clients at half of 1,000 each, 500 clients * 10 MB / 1,000 each
    assert (sized.push, sized.push_mb_each) == (40, 5)
    # 100 notifications/s * 2,000 visitors per shop over 40 processes: past the measured 4,000/s
    assert (sized.deliveries_per_push_s, sized.deliveries_measured) == (5_000, False)
    markers = 100 / 2 * 1_000 * 100
    shops = 10 * (500 + 50_000)
    customers = 10 * 100 * (50 + 0.5 * 100)
    assert math.isclose(sized.redis_gb, (markers + shops + customers) / 1e9)
    assert math.isclose(sized.redis_maxmemory_gb, 2 * sized.redis_gb)


@pytest.mark.usefixtures("simple_estimates")
def test_every_kind_keeps_two_processes_and_partitions_never_drop_below_the_default() -> None:
    sized = size(Load("quiet", shops=1, orders_per_s=0.01, visitors=1), MEASURED, BYTES, notification_ttl_s=1)
    assert (sized.ingest, sized.workers, sized.push, sized.partitions) == (2, 2, 2, 24)


def test_each_shop_count_is_sized_for_a_busy_hour_and_for_black_friday() -> None:
    rows = loads((1_000, 10_000))
    assert [(r.name, r.shops) for r in rows] == [
        ("busy hour", 1_000),
        ("Black Friday", 1_000),
        ("busy hour", 10_000),
        ("Black Friday", 10_000),
    ]
    per_shop = capacity.estimate("orders_per_shop_s")
    assert rows[2].orders_per_s == pytest.approx(10_000 * per_shop)
    assert (rows[3].orders_per_s, rows[3].visitors) == (1_000, 1_000_000)


def test_per_process_figures_are_the_best_measured_within_the_latency_bound() -> None:
    measured = per_process(Results.from_json((ROOT / "docs" / "benchmarks.json").read_bytes()))
    assert measured.ingest_webhooks_per_s == 3_998  # 4,000/s offered, p99 102 ms
    assert measured.worker_orders_per_s == 2_464  # per worker CPU second, below the wall-clock 2,559/s
    assert (measured.push_clients, measured.push_mb_per_1000_clients) == (10_000, 11.8)


def test_the_scaling_guide_shows_the_table_the_script_prints_from_the_committed_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    capacity.main(
        ["--figures", str(ROOT / "docs/benchmarks.json"), "--redis", str(ROOT / "docs/redis-footprint.json")]
    )
    printed = capsys.readouterr().out.strip()
    guide = (ROOT / "docs" / "scaling.md").read_text()
    shown = re.search(r"<!-- capacity -->\n(.*?)\n<!-- /capacity -->", guide, re.S)
    assert shown is not None, "docs/scaling.md has no <!-- capacity --> block"
    # Sources are named relative to the repository in the guide.
    assert shown.group(1).strip() == printed.replace(f"{ROOT}/", ""), "rerun python -m loadtests.capacity"
