"""`storepulse dev` started as `make run` starts it, for the tests that watch it come up and go."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from storepulse.devstack import free_port, wait_ready

# The launcher's last line on starting up.
UP = b"Ctrl-C stops everything."


def _running(process: psutil.Process) -> bool:
    """A zombie has exited: only its parent's wait() is missing, and an orphan's new parent
    may never do that."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether `condition` held at some point within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class DevLauncher:
    proc: subprocess.Popen[bytes]
    # The services' HTTP ports, by the environment variable that sets each.
    ports: dict[str, int]
    # Everything it wrote to its stdout and stderr.
    log: Path
    # The launcher and everything it started, taken once all is up (orphans stay in it).
    family: list[psutil.Process] = field(default_factory=list)

    def alive(self) -> list[psutil.Process]:
        return [p for p in self.family if _running(p)]

    def listening_ports(self) -> set[int]:
        """The ports the family listens on: the services', the broker's and Redis'."""
        pids = {p.pid for p in self.alive()}
        return {
            c.laddr.port
            for c in psutil.net_connections(kind="tcp")
            if c.pid in pids and c.status == psutil.CONN_LISTEN
        }

    def leftovers(self, ports: set[int], timeout: float) -> tuple[list[psutil.Process], set[int]]:
        """What is still running, and which of `ports` anything still listens on, after waiting
        up to `timeout` seconds for both to be gone."""

        def listening() -> set[int]:
            return {
                c.laddr.port
                for c in psutil.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port in ports
            }

        wait_until(lambda: not self.alive() and not listening(), timeout)
        return self.alive(), listening()


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


@contextmanager
def running_dev(log: Path, *, terminal: bool = False, **extra_env: str) -> Iterator[DevLauncher]:
    """`storepulse dev` on free ports, yielded once ingest, worker and push are ready and the
    launcher says it is up. Its output goes to `log`: through a pseudo-terminal when `terminal`
    (as `make run` in a terminal window), else as to a file."""
    ports = {"INGEST_PORT": free_port(), "PUSH_PORT": free_port(), "STOREPULSE_WORKER_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "SHOPIFY_API_SECRET": "dev-test-secret",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "2.0",
        "STOREPULSE_BROKER_HEARTBEAT_INTERVAL": "0.5",
        **extra_env,
    }
    env.pop("KAFKA_URL", None)
    env.pop("REDIS_URL", None)
    argv = [sys.executable, "-m", "storepulse", "dev"]
    copier = None
    if terminal:
        log.write_bytes(b"")
        master, tty = pty.openpty()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=tty, stderr=tty)
        os.close(tty)  # the launcher (and whatever inherits it) holds the terminal now
        copier = _copy_terminal(master, log)
    else:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    dev = DevLauncher(proc, ports, log)
    try:
        for port in ports.values():
            wait_ready(port, 90)
        assert wait_until(lambda: UP in log.read_bytes(), 30), "the launcher never said it is up"
        launcher = psutil.Process(proc.pid)
        dev.family = [launcher, *launcher.children(recursive=True)]
        yield dev
    finally:
        if proc.poll() is None:
            proc.terminate()  # dev stops its own children
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for process in dev.alive():  # whatever a failed stop left behind
            process.kill()
        if copier is not None:
            copier.join(10)  # everything written is in the log
