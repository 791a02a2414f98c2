"""Runs a sibling benchmark module (`python -m loadtests.bench_worker …`) as a bounded child.

Those modules land from other branches, so a missing one is a reported "not run", not a crash.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


@dataclass(frozen=True)
class SubResult:
    """The JSON a sub-benchmark wrote, or why there is none."""

    module: str
    data: Any = None
    not_run: str | None = None


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant, also those in sessions of their own (a
    sub-benchmark's embedded stack starts each child in a new session)."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)


def run_module(module: str, args: list[str], timeout_s: float, log: Path | None = None) -> SubResult:
    """`python -m module *args --json FILE`; on timeout it is killed with all it started."""
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
            )
            try:
                code = proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                return SubResult(module, not_run=f"{module} timed out after {timeout_s:.0f} s")
            finally:
                kill_tree(proc.pid)
                proc.wait()
        if code != 0:
            return SubResult(module, not_run=f"{module} exited with {code}")
        try:
            return SubResult(module, data=json.loads(out.read_text()))
        except (OSError, ValueError) as exc:
            return SubResult(module, not_run=f"{module} wrote no JSON ({type(exc).__name__})")
