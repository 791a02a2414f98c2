"""One ingest process's capacity: open-loop webhooks at fixed rates, and its own CPU per webhook.

    python -m loadtests.ingest_capacity [--rates 1000,2000,3000,4000] [--duration 10]
                                        [--profile RATE --profile-out FILE]

Starts the embedded broker and Redis and one `storepulse ingest` (nothing else), registers a
shop, and for each offered rate reports answers/s, p50/p99 and errors after a warm-up. The
load client shares this machine's cores, so answers/s alone understates what one process can
do; the ingest process's own CPU seconds per 1,000 accepted webhooks (user + system from
/proc/<pid>/stat) does not, and 1,000 / that is its capacity on one core.
`--profile RATE` samples ingest with py-spy (`pip install py-spy`) during that rate's step and
prints the functions most samples were in.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from loadtests.bench import SECRET, bench_shop, register
from loadtests.browser_latency import order_hooks
from loadtests.cpu import cpu_seconds
from loadtests.open_loop import Answer, RateResult, send_at_rate
from storepulse.devstack import LOOPBACK, Stack, wait_ready


def run(coro: Coroutine[Any, Any, list[Answer]]) -> list[Answer]:
    """The client on uvloop when it is there (uvicorn[standard] brings it): less client CPU."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def measure(
    ingest_url: str,
    pids: dict[str, int],
    shop: str,
    rate: int,
    warmup_s: float,
    duration_s: float,
    during: Callable[[], subprocess.Popen[bytes] | None] = lambda: None,
) -> tuple[RateResult, dict[str, float]]:
    """One step: the rate's result and CPU seconds per 1,000 accepted webhooks per process."""
    hooks = order_hooks([shop], round(rate * (warmup_s + duration_s)))
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    client_before = time.process_time()
    sampler = during()
    answers = run(send_at_rate(ingest_url, hooks, SECRET, rate))
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    used["client"] = time.process_time() - client_before
    if sampler is not None:
        sampler.wait()
    start = min(a.due for a in answers)
    result = RateResult.of(rate, [a for a in answers if a.due >= start + warmup_s])
    accepted = sum(1 for a in answers if a.ok)
    per_1000 = {name: 1000 * s / accepted if accepted else float("nan") for name, s in used.items()}
    return result, per_1000


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    py_spy_bin = Path(sys.executable).parent / "py-spy"
    # --gil: only samples that hold the GIL, so threads blocked in C (librdkafka poll) do not count.
    argv = [str(py_spy_bin), "record", "--gil", "-p", str(pid), "-f", "raw", "-r", "200"]
    argv += ["-d", str(int(seconds)), "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.ingest_capacity", description=__doc__)
    parser.add_argument("--rates", default="1000,2000,3000,4000")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds counted per rate")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per rate not counted")
    parser.add_argument("--profile", type=int, default=0, help="py-spy ingest during this rate's step")
    parser.add_argument("--profile-out", type=Path, default=Path(tempfile.gettempdir()) / "ingest.pyspy")
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    log_dir = Path(tempfile.mkdtemp(prefix="storepulse-capacity-"))
    stack = Stack(env={"SHOPIFY_API_SECRET": SECRET.decode(), "LOG_LEVEL": "info"}, log_dir=log_dir)
    try:
        stack.start_infra()
        ingest = stack.start_service("ingest")
        wait_ready(ingest.port, 60, ingest)
        pids = {c.name: c.proc.pid for c in stack.children}
        url = f"http://{LOOPBACK}:{ingest.port}"
        print("| offered/s | sent | 2xx | failed | answers/s | p50 ms | p99 ms | CPU s / 1,000 webhooks |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for rate in rates:
            shop = bench_shop()
            asyncio.run(register(stack, [shop]))

            def sample(rate: int = rate) -> subprocess.Popen[bytes] | None:
                if rate != args.profile:
                    return None
                return py_spy(pids["ingest"], args.warmup + args.duration, args.profile_out)

            result, per_1000 = measure(url, pids, shop, rate, args.warmup, args.duration, sample)
            cpu = " · ".join(f"{name} {s:.3f}" for name, s in sorted(per_1000.items(), key=lambda kv: -kv[1]))
            print(
                f"| {rate:,} | {result.sent} | {result.ok} | {result.failed or 0} | "
                f"{result.answers_per_s:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | {cpu} |",
                flush=True,
            )
            time.sleep(1)  # let the broker drain before the next step
        if args.profile:
            from loadtests.profile_summary import main as summary

            print(f"\npy-spy, ingest at {args.profile}/s (self time, {args.profile_out}):")
            summary(str(args.profile_out), 15)
    finally:
        stack.stop()
    print(f"(service logs: {log_dir})")


if __name__ == "__main__":
    main()
