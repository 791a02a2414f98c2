"""CPU each process used during a benchmark step, in % of one core: shows who saturated first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator, Mapping

import psutil


def cpu_seconds(pid: int) -> float:
    """User + system time of one process so far (0 once it is gone).

    Children are left out: every service is one process here, and the stack's processes are
    the harness's own children, which must not count as the load client's CPU.
    """
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


async def cpu_when_idle(pid: int, timeout: float, window_s: float = 1.0, busy_below: float = 0.3) -> float:
    """CPU seconds `pid` had used when it last was busy.

    Its work counts as done once a `window_s` passes in which it used under `busy_below` of a
    core (timers and polling; processing runs at a whole core)."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(window_s)
        now = cpu_seconds(pid)
        if now - last < busy_below * window_s:
            return last
        last = now
    return last


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling, since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@contextlib.contextmanager
def cpu_share(pids: Mapping[str, int]) -> Iterator[dict[str, float]]:
    """Fills the yielded dict with `name: % of one core` for `pids`, this process as "client",
    and "other" for everything else the machine ran meanwhile (other users' load: noise)."""
    named = {"client": os.getpid(), **pids}
    before = {name: cpu_seconds(pid) for name, pid in named.items()}
    busy_before = _machine_busy_seconds()
    start = time.monotonic()
    shares: dict[str, float] = {}
    yield shares
    wall = time.monotonic() - start
    if wall <= 0:
        return
    for name, pid in named.items():
        shares[name] = 100 * (cpu_seconds(pid) - before[name]) / wall
    machine = 100 * (_machine_busy_seconds() - busy_before) / wall
    shares["other"] = max(0.0, machine - sum(shares.values()))


def describe(shares: Mapping[str, float]) -> str:
    """`client 85 · ingest 97 · tansu 40`, busiest first, idle ones left out."""
    busy = sorted(((v, k) for k, v in shares.items() if v >= 1), reverse=True)
    return " · ".join(f"{name} {value:.0f}" for value, name in busy)
