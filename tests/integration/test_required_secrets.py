"""Outside the embedded stack a service refuses to start without the secrets it needs, saying which."""

import os
import subprocess

import pytest

from storepulse.devstack import Stack, free_port, service_argv


def run(stack: Stack, command: str, *args: str, unset: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.env, unset: ""}
    ports = {"INGEST_PORT": str(free_port()), "STOREPULSE_WORKER_PORT": str(free_port())}
    return subprocess.run(
        service_argv(command, *args), env={**env, **ports}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("command", "unset"),
    [
        ("ingest", "STOREPULSE_TOKEN_KEY"),
        ("worker", "STOREPULSE_TOKEN_KEY"),
        ("worker", "STOREPULSE_NOTIFICATION_ID_KEY"),
        ("shops", "STOREPULSE_TOKEN_KEY"),
    ],
)
def test_a_service_without_its_secret_refuses_to_start(stack: Stack, command: str, unset: str) -> None:
    args = ("list",) if command == "shops" else ()
    done = run(stack, command, *args, unset=unset)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"storepulse {command}: {unset}" in done.stderr
    assert "Traceback" not in done.stderr
