"""What GET /metrics serves: this process's metrics, or with `--workers N` every process's.

uvicorn's `--workers N` starts N processes behind one port, and a scrape reaches any one of them.
With PROMETHEUS_MULTIPROC_DIR set (`storepulse ingest|push --workers N` sets it for N > 1) each
process keeps its samples in files there and each process's /metrics reads them all, so every
scrape sees one coherent registry (prometheus_client's multiprocess mode): counters and
histograms add up across the processes, each gauge as its `multiprocess_mode` says.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def prepare(workers: int) -> None:
    """Before uvicorn starts its processes: a directory they share, emptied of any earlier run's
    files (a fresh one unless PROMETHEUS_MULTIPROC_DIR names one). One process needs none."""
    configured = os.environ.get(MULTIPROC_DIR)
    if workers <= 1 and not configured:
        return
    path = configured or tempfile.mkdtemp(prefix="storepulse-metrics-")
    for stale in Path(path).glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_DIR] = path  # the processes uvicorn spawns inherit it


def scrape() -> bytes:
    """The exposition text of this process's registry, or of every process's."""
    path = os.environ.get(MULTIPROC_DIR)
    if not path:
        return generate_latest()
    forget_dead_processes(Path(path))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]  # prometheus_client is untyped here
    return generate_latest(registry)


def forget_dead_processes(path: Path) -> None:
    """Drop the live gauges of processes that are gone (uvicorn replaces a worker that died), so
    open connections are not counted twice; their counters stay, as counters must."""
    for file in path.glob("gauge_live*_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
