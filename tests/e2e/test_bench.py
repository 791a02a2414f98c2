"""`python -m loadtests.bench --quick`: a real (tiny) run produces the report and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from loadtests.machine import this_machine
from tests.support.processes import processes_with

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(report: str, first_header: str) -> list[list[str]]:
    """The body rows of the markdown table whose first column is `first_header`."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_quick_bench_writes_the_report_and_stops_every_process(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex  # inherited by every process the run starts
    run = subprocess.run(
        [
            *(sys.executable, "-m", "loadtests.bench", "--quick", "--out", str(tmp_path)),
            *("--skip", "worker,push,restart"),
        ],
        env={**os.environ, "STOREPULSE_BENCH_TEST_RUN": marker},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not processes_with("STOREPULSE_BENCH_TEST_RUN", marker)

    report = (tmp_path / "benchmarks.md").read_text()
    assert this_machine().cpu in report
    assert "webhook → browser p99 at 1,000 orders/s" in report
    assert "not run: skipped" in report
    ingest = _rows(report, "offered/s")
    assert [row[0] for row in ingest] == ["100", "500", "2,000", "4,000"]
    for offered, sent, ok, failed, *_ in ingest[:2]:  # far below capacity: everything accepted
        assert sent == ok and failed == "0", offered
    latency = _rows(report, "orders/s")
    assert [row[0] for row in latency] == ["100", "1,000"]
    assert all(row[4] == "100.0%" for row in latency)  # every order reached its shop's storefront
    for png in ("ingest.png", "latency.png"):
        assert (tmp_path / "img" / png).read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "img" / "push.png").exists()
