"""The short chaos run (`make chaos` is the long one): each fault kind once under load, and
afterwards nothing lost, doubled or wrong; every process the run started is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from loadtests.chaos_faults import FAULT_KINDS
from tests.support.processes import processes_with

SEED = 18  # fixed, so CI replays one schedule; `python -m loadtests.chaos --seed N` replays any
MARKER_VARIABLE = "STOREPULSE_CHAOS_TEST_RUN"


def _cells(report: str) -> dict[str, str]:
    """The one-run table's rows: name → cell."""
    rows = [line.strip("|").split("|") for line in report.splitlines() if line.startswith("| ")]
    return {name.strip(): cell.strip() for name, cell in rows if name.strip()}


# Every fault kind, the worker kills too. Not in `make test` yet: with the rebalance fixes
# (streams/runtime/faust_seam.py items 7 and 8) this run passed 2 times in 3 here, and one full run
# hung in a rebalance waiting for in-flight records (`wait_empty`) after a Redis restart (issue 18,
# docs/reliability.md). `make chaos-short` runs it.
@pytest.mark.skipif(
    not os.environ.get("STOREPULSE_CHAOS"), reason="issue 18: not yet reliable; make chaos-short runs it"
)
@pytest.mark.timeout(420)
def test_short_chaos_run_ends_exact_and_leaves_nothing_running(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex  # inherited by every process the run starts
    report_path = tmp_path / "reliability.md"
    argv = ["--seed", str(SEED), "--rate", "30", "--duration", "40", "--shops", "4", "--repeats", "1"]
    run = subprocess.run(
        [sys.executable, "-m", "loadtests.chaos", *argv, "--pause", "4", "--write", str(report_path)],
        env={**os.environ, MARKER_VARIABLE: marker},
        capture_output=True,
        text=True,
        timeout=400,
    )
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not processes_with(MARKER_VARIABLE, marker)
    assert f"seed {SEED}" in run.stdout

    cells = _cells(report_path.read_text())
    assert sorted(cells["faults injected"].split(", ")) == sorted(f"{kind} 1" for kind in FAULT_KINDS)
    assert "never" not in cells["recovery after fault, s (max)"]
    _, accepted, redelivered = (int(n) for n in cells["webhooks sent / accepted / redelivered"].split(" / "))
    assert accepted > 500 and redelivered > 0  # the broker pause made Shopify redeliver
    assert int(cells["duplicate deliveries"]) > 0
    assert cells["undelivered / unexpected 5xx"] == "0 / 0"
    expected, delivered = cells["notifications expected / delivered"].split(" / ")
    assert int(expected) > 400 and delivered == expected
    assert cells["notifications duplicated / missing / unexpected"] == "0 / 0 / 0"
    assert cells["SSE duplicated / missing / out of order"] == "0 / 0 / 0"
    assert int(cells["SSE clients / reconnects"].split(" / ")[1]) > 0  # push and Redis cut them off
    assert cells["metric mismatches (read model / table)"] == "0 / 0"
    assert cells["result"] == "pass"
