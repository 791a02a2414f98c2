"""One `make bench` run's results: what loadtests/report.py writes up and docs/benchmarks.json
holds (no plotting here, so loadtests/capacity.py reads them without matplotlib)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from loadtests.browser_latency import LatencyResult
from loadtests.machine import Machine
from loadtests.open_loop import RateResult
from loadtests.sub_bench import SubResult


@dataclass
class Results:
    machine: Machine
    quick: bool
    ingest: list[RateResult] = field(default_factory=list)
    ingest_not_run: str | None = "not measured"
    latency: list[LatencyResult] = field(default_factory=list)
    latency_not_run: str | None = "not measured"
    worker: SubResult | None = None
    # The same orders through two workers of one group (bench_worker --workers 2).
    workers: SubResult | None = None
    push: SubResult | None = None
    admin: SubResult | None = None
    imports: SubResult | None = None
    sync: SubResult | None = None
    beacons: SubResult | None = None
    restart: SubResult | None = None

    def to_json(self) -> bytes:
        """Every figure of the run (a NaN, a figure that does not exist, becomes null)."""
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Results:
        data = orjson.loads(raw)
        named = ("worker", "workers", "push", "admin", "imports", "restart", "sync", "beacons")
        sub = {k: SubResult(**data[k]) if data.get(k) else None for k in named}
        return cls(
            machine=Machine(**data["machine"]),
            quick=data["quick"],
            ingest=[RateResult(**_numbers(r)) for r in data["ingest"]],
            ingest_not_run=data["ingest_not_run"],
            latency=[LatencyResult(**_numbers(r)) for r in data["latency"]],
            latency_not_run=data["latency_not_run"],
            **sub,
        )


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    """A result row as written: null where a figure did not exist (NaN when it was measured)."""
    return {k: math.nan if v is None else v for k, v in row.items()}


@dataclass(frozen=True)
class PushRow:
    clients: int
    held: int | None
    p50_ms: float | None
    p99_ms: float | None
    messages_per_s: float | None
    mb_per_1000: float | None


def worker_orders_per_s(data: Any) -> float | None:
    """`orders_per_s` from bench_worker's JSON object."""
    value = data.get("orders_per_s") if isinstance(data, dict) else None
    return float(value) if value is not None else None


def push_rows(data: Any) -> list[PushRow]:
    """bench_push's JSON: a list with one object per client count."""
    return [
        PushRow(
            clients=int(row["clients"]),
            held=row.get("clients_held"),
            p50_ms=row.get("p50_ms"),
            p99_ms=row.get("p99_ms"),
            messages_per_s=row.get("messages_per_s"),
            mb_per_1000=row.get("push_rss_mb_per_1000_clients"),
        )
        for row in (data if isinstance(data, list) else [])
        if isinstance(row, dict) and "clients" in row
    ]
