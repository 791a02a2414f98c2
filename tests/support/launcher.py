"""`storepulse dev` started as `make run` starts it, for the tests that watch it come up and go."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from storepulse.devstack import free_port, wait_ready
from tests.support.eventually import eventually

# The launcher's last line on starting up.
UP = b"Ctrl-C stops everything."
DEV_SECRET = b"dev-test-secret"


def _running(process: psutil.Process) -> bool:
    """A zombie has exited: only its parent's wait() is missing, and an orphan's new parent
    may never do that."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _listening(pids: set[int] | None = None, ports: set[int] | None = None) -> set[int]:
    return {
        c.laddr.port
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
        and (pids is None or c.pid in pids)
        and (ports is None or c.laddr.port in ports)
    }


@dataclass
class DevLauncher:
    proc: subprocess.Popen[bytes]
    # The services' HTTP ports, by the environment variable that sets each.
    ports: dict[str, int]
    log: Path
    # The launcher and everything it started, taken once all is up (orphans stay in it).
    family: list[psutil.Process] = field(default_factory=list)
    # Copies a pseudo-terminal's output into `log` (None: the launcher writes the log itself).
    copier: threading.Thread | None = None

    def alive(self) -> list[psutil.Process]:
        return [p for p in self.family if _running(p)]

    def listening_ports(self) -> set[int]:
        """The ports the family listens on: the services', the broker's and Redis'."""
        return _listening(pids={p.pid for p in self.alive()})

    def leftovers(self, ports: set[int]) -> tuple[list[psutil.Process], set[int]]:
        """What is still running, and which of `ports` anything still listens on."""
        return self.alive(), _listening(ports=ports)

    async def all_gone(self, ports: set[int], timeout: float) -> None:
        """Until nothing of the family runs and nothing listens on `ports`."""
        await eventually(
            lambda: not any(self.leftovers(ports)),
            timeout=timeout,
            every=0.05,
            what=lambda: "left behind: {}, listening on {}".format(*self.leftovers(ports)),
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # dev stops its own children
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for process in self.alive():  # whatever a failed stop left behind
            process.kill()
        if self.copier is not None:
            self.copier.join(10)  # everything written is in the log


def _copy_terminal(master: int, log: Path) -> threading.Thread:
    """Append what is written to the pseudo-terminal's other end to `log` until nothing holds
    that end open."""

    def copy() -> None:
        with log.open("ab") as out:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the last writer closed it
                    break
                if not chunk:
                    break
                out.write(chunk)
                out.flush()
        os.close(master)

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def _start(log: Path, terminal: bool, extra_env: dict[str, str]) -> DevLauncher:
    """`storepulse dev` on free ports."""
    ports = {"INGEST_PORT": free_port(), "PUSH_PORT": free_port(), "STOREPULSE_WORKER_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "SHOPIFY_API_SECRET": DEV_SECRET.decode(),
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "2.0",
        "STOREPULSE_BROKER_HEARTBEAT_INTERVAL": "0.5",
        **extra_env,
    }
    env.pop("KAFKA_URL", None)
    env.pop("REDIS_URL", None)
    argv = [sys.executable, "-m", "storepulse", "dev"]
    if not terminal:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        return DevLauncher(proc, ports, log)
    log.write_bytes(b"")
    master, tty = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=tty, stderr=tty)
    os.close(tty)  # the launcher (and whatever inherits it) holds the terminal now
    return DevLauncher(proc, ports, log, copier=_copy_terminal(master, log))


@contextlib.asynccontextmanager
async def running_dev(log: Path, *, terminal: bool = False, **extra_env: str) -> AsyncIterator[DevLauncher]:
    """`storepulse dev` on free ports, yielded once ingest, worker and push are ready and the
    launcher says it is up. Its output goes to `log`: through a pseudo-terminal when `terminal`
    (as `make run` in a terminal window), else as to a file."""
    dev = _start(log, terminal, extra_env)
    try:
        for port in dev.ports.values():
            await asyncio.to_thread(wait_ready, port, 90)
        await eventually(lambda: UP in log.read_bytes(), timeout=30, every=0.05, what="the launcher up")
        launcher = psutil.Process(dev.proc.pid)
        dev.family = [launcher, *launcher.children(recursive=True)]
        yield dev
    finally:
        await asyncio.to_thread(dev.stop)
