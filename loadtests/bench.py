"""`make bench`: start the embedded stack, load it at fixed rates, write docs/benchmarks.md.

    python -m loadtests.bench [--quick] [--out docs] [--skip worker,push]

Steps, in order: webhook → browser latency (full stack), ingest at fixed rates (worker and
push stopped), then the worker and push benchmarks of their own modules, and what a shop costs in
Redis (loadtests/redis_footprint.py, written to redis-footprint.json beside the report). Every process it
starts is stopped before it returns, also on Ctrl-C / SIGTERM.

The sub-benchmarks are called as `python -m MODULE ARGS --json FILE` and their FILE is read as:
`loadtests.bench_worker --orders N` writes `{"orders_per_s": float, ...}`;
`loadtests.bench_push --clients A,B,C` writes `[{"clients", "clients_held", "messages_per_s",
"p50_ms", "p99_ms", "push_rss_mb_per_1000_clients", ...}, ...]`, one object per client count;
`loadtests.bench_admin --customers N` writes `{"customers", "p99_ms", "csv_s",
"ingest_rss_peak_mb", ...}` (the merchant app's customer list and CSV export);
`loadtests.bench_import --rows N` writes `{"rows", "import_logged_s", "import_applied_s", ...}`
(an import of VIP status from another app); `loadtests.bench_restart --customers N` writes
`[{"store", "customers", "first_start_s", "ready_after_clean_stop_s", "ready_after_sigkill_s",
"rss_mb_after_restart", "disk_mb"}, ...]`, one object per worker store;
`loadtests.bench_sync --orders N --rates A,B` writes `{"runs": [{"restore_rate", "sync_s", "points",
"applied_s", "worker_orders_per_s", "customers", "reconcile_s", ...}, ...]}` (the scheduled sync);
`loadtests.bench_beacons --beacons N` writes `{"fold": {"beacons_per_s", ...}, "ingest": {"answers_per_s",
"p99_ms", ...}, "end_to_end": {"agrees", ...}}` (the analytics loop).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

from loadtests import browser_latency, redis_footprint
from loadtests.browser_latency import order_hooks
from loadtests.cpu import cpu_share, describe
from loadtests.machine import this_machine
from loadtests.open_loop import RateResult, send_at_rate
from loadtests.report import Results, write_report
from loadtests.sub_bench import SubResult, run_module
from storepulse.devstack import LOOPBACK, Stack, wait_ready
from storepulse.shops import open_registry

SECRET = b"storepulse-bench-secret"
# 4,000/s goes past the 3,000/s target, so the table shows whether one process gets there.
INGEST_RATES = (100, 500, 2000, 4000)
LATENCY_RATES = (100, 1000)
STEPS = (
    "latency",
    "ingest",
    "worker",
    "workers",
    "push",
    "admin",
    "imports",
    "restart",
    "sync",
    "beacons",
    "redis",
)


@dataclass(frozen=True)
class Plan:
    """How long each step runs: the full run takes ~8 minutes here, quick mode in seconds."""

    warmup_s: float
    ingest_s: float
    latency_s: float
    worker_args: list[str]
    worker_timeout_s: float
    push_args: list[str]
    push_timeout_s: float
    admin_args: list[str]
    admin_timeout_s: float
    import_args: list[str]
    import_timeout_s: float
    sync_args: list[str]
    sync_timeout_s: float
    beacon_args: list[str]
    beacon_timeout_s: float
    restart_args: list[str]
    restart_timeout_s: float


FULL = Plan(
    warmup_s=3,
    ingest_s=15,
    latency_s=20,
    worker_args=["--orders", "60000", "--ceiling"],
    worker_timeout_s=300,
    push_args=["--clients", "1000,5000,10000"],
    push_timeout_s=420,
    admin_args=["--customers", "100000"],
    admin_timeout_s=900,
    import_args=["--rows", "50000"],
    import_timeout_s=600,
    sync_args=["--orders", "10000", "--rates", "100,1000"],
    sync_timeout_s=900,
    beacon_args=["--beacons", "200000"],
    beacon_timeout_s=900,
    restart_args=["--customers", "100000"],
    restart_timeout_s=1200,
)
QUICK = Plan(
    warmup_s=0.5,
    ingest_s=1.5,
    latency_s=2,
    worker_args=["--orders", "2000"],
    worker_timeout_s=120,
    push_args=["--clients", "100,500", "--duration", "2"],
    push_timeout_s=180,
    admin_args=["--customers", "2000"],
    admin_timeout_s=240,
    import_args=["--rows", "2000"],
    import_timeout_s=240,
    sync_args=["--orders", "1000", "--rates", "1000"],
    sync_timeout_s=240,
    beacon_args=["--beacons", "5000", "--seconds", "2", "--warmup", "0.5"],
    beacon_timeout_s=400,
    restart_args=["--customers", "2000"],
    restart_timeout_s=300,
)


def raise_fd_limit() -> None:
    """Thousands of SSE sockets need descriptors; children inherit the raised limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def bench_shop() -> str:
    return f"bench-{uuid.uuid4().hex[:10]}.myshopify.com"


async def register(stack: Stack, shops: list[str]) -> None:
    """Install the shops in the registry: ingest drops webhooks of shops that are not installed."""
    registry = open_registry(stack.settings())
    try:
        for shop in shops:
            await registry.install(shop, "bench-token")
    finally:
        await registry.aclose()


def step(name: str, action: Callable[[], None]) -> str | None:
    """Runs one step; a failure becomes the "not run" reason in the report, not a crash."""
    print(f"[bench] {name}…", flush=True)
    try:
        action()
    except Exception as exc:  # the report must still be written
        traceback.print_exc()
        return f"failed: {type(exc).__name__}: {exc}"
    return None


def stack_steps(plan: Plan, res: Results, skip: set[str], log_dir: Path) -> None:
    """Latency and ingest steps on one embedded stack, stopped before this returns."""
    stack = Stack(env={"SHOPIFY_API_SECRET": SECRET.decode(), "LOG_LEVEL": "warning"}, log_dir=log_dir)
    try:
        ready: dict[str, int] = {}

        def start() -> None:
            stack.start_infra()
            worker_env = {"STOREPULSE_APP_ID": f"storepulse-bench-{uuid.uuid4().hex[:8]}"}
            children = [
                stack.start_service("ingest"),
                stack.start_service("worker", extra_env=worker_env),
                # Every storefront of the bench connects from 127.0.0.1.
                stack.start_service("push", extra_env={"STOREPULSE_PUSH_MAX_PER_IP": "1000000"}),
            ]
            for child in children:
                wait_ready(child.port, 60, child)
                ready[child.name] = child.port

        def pids() -> dict[str, int]:
            return {c.name: c.proc.pid for c in stack.children if c.proc.poll() is None}

        failed = step("starting the embedded stack", start)
        ingest_url = f"http://{LOOPBACK}:{ready.get('ingest')}"
        push_url = f"http://{LOOPBACK}:{ready.get('push')}"

        def latency() -> None:
            for rate in LATENCY_RATES:
                shops = [bench_shop() for _ in range(browser_latency.shops_for(rate))]
                asyncio.run(register(stack, shops))
                with cpu_share(pids()) as cpu:
                    result = asyncio.run(
                        browser_latency.measure(
                            ingest_url,
                            push_url,
                            shops,
                            SECRET,
                            stack.settings().notification_key,
                            rate,
                            duration_s=plan.latency_s,
                            warmup_s=plan.warmup_s,
                        )
                    )
                result = replace(result, cpu=cpu)
                print(
                    f"[bench]   {rate}/s: p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
                    f"{result.delivered_share:.1%} delivered, {result.refused} refused; "
                    f"CPU % {describe(result.cpu)}",
                    flush=True,
                )
                res.latency.append(result)

        def ingest() -> None:
            # One ingest process against the broker: the worker and push would share its cores.
            for child in [c for c in stack.children if c.name in ("worker", "push")]:
                child.stop()
            for rate in INGEST_RATES:
                shops = [bench_shop()]
                asyncio.run(register(stack, shops))
                hooks = order_hooks(shops, round(rate * (plan.warmup_s + plan.ingest_s)))
                with cpu_share(pids()) as cpu:
                    answers = asyncio.run(send_at_rate(ingest_url, hooks, SECRET, rate))
                start = min(a.due for a in answers)
                result = RateResult.of(rate, [a for a in answers if a.due >= start + plan.warmup_s])
                result = replace(result, cpu=cpu)
                print(
                    f"[bench]   {rate}/s: {result.answers_per_s:.0f} answers/s, "
                    f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, failed {result.failed or 0}; "
                    f"CPU % {describe(result.cpu)}",
                    flush=True,
                )
                res.ingest.append(result)

        for name, action in (("latency", latency), ("ingest", ingest)):
            reason = "skipped" if name in skip else failed or step(name, action)
            setattr(res, f"{name}_not_run", reason)
    finally:
        stack.stop()


def run(plan: Plan, out_dir: Path, quick: bool, skip: set[str], log_dir: Path) -> Path:
    res = Results(this_machine(), quick)
    if {"latency", "ingest"} - skip:
        stack_steps(plan, res, skip, log_dir)
    else:
        res.latency_not_run = res.ingest_not_run = "skipped"
    # The sub-benchmarks start their own processes; ours are gone, so they get the cores.
    for name, module, args, timeout in (
        ("worker", "loadtests.bench_worker", plan.worker_args, plan.worker_timeout_s),
        ("workers", "loadtests.bench_worker", [*plan.worker_args, "--workers", "2"], plan.worker_timeout_s),
        ("push", "loadtests.bench_push", plan.push_args, plan.push_timeout_s),
        ("admin", "loadtests.bench_admin", plan.admin_args, plan.admin_timeout_s),
        ("imports", "loadtests.bench_import", plan.import_args, plan.import_timeout_s),
        ("sync", "loadtests.bench_sync", plan.sync_args, plan.sync_timeout_s),
        ("beacons", "loadtests.bench_beacons", plan.beacon_args, plan.beacon_timeout_s),
        ("restart", "loadtests.bench_restart", plan.restart_args, plan.restart_timeout_s),
    ):
        if name in skip:
            setattr(res, name, SubResult(module, not_run="skipped"))
            continue
        print(f"[bench] {module} {' '.join(args)}…", flush=True)
        setattr(res, name, run_module(module, args, timeout, log_dir / f"{name}-bench.log"))
    if "redis" not in skip:
        # Bytes per shop for docs/scaling.md (python -m loadtests.capacity), beside the figures.
        footprint = out_dir / "redis-footprint.json"
        step("redis footprint", lambda: redis_footprint.main(["--json", str(footprint)]))
    return write_report(res, out_dir)


def _terminate(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the stack


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per step")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where benchmarks.md and img/ go")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {','.join(STEPS)}")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := skip - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, _terminate)
    raise_fd_limit()
    log_dir = Path(tempfile.mkdtemp(prefix="storepulse-bench-"))
    began = time.monotonic()
    path = run(QUICK if args.quick else FULL, args.out, args.quick, skip, log_dir)
    print(f"[bench] wrote {path} in {time.monotonic() - began:.0f} s (service logs: {log_dir})")


if __name__ == "__main__":
    main()
