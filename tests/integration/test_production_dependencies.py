"""Each service starts and becomes ready with only the image's dependency set importable."""

from __future__ import annotations

import sys

import pytest

from storepulse.devstack import PORT_ENV, Stack, free_port, spawn, wait_ready
from tests.support.runtime_only import ROOT
from tests.support.stack import worker_env


@pytest.mark.parametrize("command", ["ingest", "worker", "push"])
def test_service_is_ready_with_production_dependencies_only(stack: Stack, command: str) -> None:
    port = free_port()
    env = {**stack.env, **worker_env(), PORT_ENV[command]: str(port), "PYTHONPATH": str(ROOT)}
    child = spawn(
        f"{command}-runtime-only",
        [sys.executable, "-m", "tests.support.runtime_only", command],
        port,
        env,
        log=stack.log(f"{command}-runtime-only"),
    )
    try:
        wait_ready(port, 60, child)
    finally:
        child.stop()
