"""Runs a sibling benchmark module (`python -m loadtests.bench_worker …`) as a bounded child.

Those modules land from other branches, so a missing one is a reported "not run", not a crash.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SubResult:
    """The JSON a sub-benchmark wrote, or why there is none."""

    module: str
    data: Any = None
    not_run: str | None = None


def run_module(module: str, args: list[str], timeout_s: float, log: Path | None = None) -> SubResult:
    """`python -m module *args --json FILE`; kills its whole process group on timeout."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        return SubResult(module, not_run=f"{module} not present")
    with tempfile.TemporaryDirectory(prefix="storepulse-sub-") as tmp:
        out = Path(tmp) / "result.json"
        with open(log or os.devnull, "ab") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *args, "--json", str(out)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: the kill reaches its stack too
            )
            try:
                code = proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return SubResult(module, not_run=f"{module} timed out after {timeout_s:.0f} s")
            finally:
                # Whatever it started and left behind goes too.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if code != 0:
            return SubResult(module, not_run=f"{module} exited with {code}")
        try:
            return SubResult(module, data=json.loads(out.read_text()))
        except (OSError, ValueError) as exc:
            return SubResult(module, not_run=f"{module} wrote no JSON ({type(exc).__name__})")
