"""SSE fan-out benchmark: one push process, N concurrent clients, the real publisher.

    python -m loadtests.bench_push --clients 1000,5000,10000 --json out.json

Starts its own Redis and one push process, opens N SSE clients from a few load-generator
processes (raw asyncio protocols, so the generator is not the bottleneck), publishes through
streams' Lua step at a fixed rate per shop, and reports clients held, publish→receive latency
(from `published_at`), delivered messages/s, the push process's CPU per delivery and its RSS
per 1,000 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import re
import resource
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psutil
import redis.asyncio as redis

from loadtests.cpu import cpu_seconds
from loadtests.open_loop import percentile
from storepulse.contracts import Notification
from storepulse.devstack import Stack, start_redis, wait_ready
from storepulse.shops import ShopRegistry, token_cipher
from streams.runtime.publisher import NotificationPublisher

_PUBLISHED_AT = re.compile(rb'"published_at":(\d+(?:\.\d+)?)')
_TAIL = 64  # a match split across two reads is found in the next one


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class SSEProtocol(asyncio.Protocol):
    """Counts events and their latency; headers and chunk sizes are simply skipped over."""

    def __init__(self, latencies: list[float], state: dict[str, int]) -> None:
        self.latencies = latencies
        self.state = state
        self.tail = b""
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.open = True
        self.state["open"] += 1

    def data_received(self, data: bytes) -> None:
        now = time.time() * 1000
        buf = self.tail + data
        last = 0
        for match in _PUBLISHED_AT.finditer(buf):
            self.latencies.append(now - float(match.group(1)))
            last = match.end()
        self.tail = buf[max(last, len(buf) - _TAIL) :]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.open:
            self.open = False
            self.state["open"] -= 1


def run_clients(port: int, shops: list[str], count: int, offset: int, pipe, stop) -> None:
    """One load-generator process: open `count` clients, report, then hand back latencies."""
    import uvloop

    raise_nofile()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        state = {"open": 0}
        transports = []
        for i in range(count):
            shop = shops[(offset + i) % len(shops)]
            transport, _ = await loop.create_connection(
                lambda: SSEProtocol(latencies, state), "127.0.0.1", port
            )
            transport.write(f"GET /sse/{shop} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            transports.append(transport)
            if i % 200 == 199:
                await asyncio.sleep(0.01)  # stay under the server's accept backlog
        pipe.send(("connected", state["open"]))
        while not stop.is_set():
            await asyncio.sleep(0.1)
            if pipe.poll():
                command = pipe.recv()
                if command == "reset":
                    latencies.clear()
                elif command == "report":
                    pipe.send(("report", state["open"], latencies[:]))
        for transport in transports:
            transport.close()

    uvloop.run(main())


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process."""
    return cpu_seconds(pid), psutil.Process(pid).memory_info().rss


@dataclass
class Result:
    clients: int
    clients_held: int
    shops: int
    rate_per_shop: float
    burst: bool
    duration_s: float
    messages: int
    messages_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    push_cpu_us_per_message: float
    push_rss_mb: float
    push_rss_kb_per_client: float
    push_rss_mb_per_1000_clients: float


async def publish_loop(redis_url: str, shops: list[str], rate: float, until: float, burst: bool) -> int:
    """Each shop publishes `rate`/s: all at once (`burst`), or each at its own phase in the
    period, as independent shops do."""
    client = redis.Redis.from_url(redis_url)
    publisher = NotificationPublisher(client, ttl_s=600, maxlen=100)
    run = time.time_ns()  # notification ids are deduplicated: never reuse one
    groups = [shops] if burst else [[shop] for shop in shops]
    tick = 1.0 / rate / len(groups)
    sent = 0
    next_at = time.monotonic()
    while time.monotonic() < until:
        now = datetime.now(UTC)
        await publisher.publish(
            [
                Notification(
                    id=f"bench-{run}-{sent}-{shop}",
                    shop=shop,
                    kind="purchase",
                    title="Maya in Austin, US just bought",
                    message="Maya in Austin, US just bought the Cloud Hoodie",
                    occurred_at=now,
                )
                for shop in groups[sent % len(groups)]
            ]
        )
        sent += 1
        next_at += tick
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await client.aclose()
    return sent


async def bench_one(args: argparse.Namespace, clients: int) -> Result:
    own_redis = start_redis()
    redis_url = f"redis://127.0.0.1:{own_redis.port}/0"
    stack = Stack(env={"REDIS_URL": redis_url, "LOG_LEVEL": "warning"})
    shops = [f"bench-{i}.myshopify.com" for i in range(max(1, clients // args.clients_per_shop))]
    client = redis.Redis.from_url(redis_url)
    registry = ShopRegistry(client, token_cipher(stack.settings()))
    for shop in shops:
        await registry.install(shop, "shpat_bench")
    await client.aclose()
    push = stack.start_service(
        "push",
        extra_env={
            "STOREPULSE_PUSH_MAX_CONNECTIONS": str(clients * 2),
            "STOREPULSE_PUSH_MAX_PER_IP": str(clients * 2),
            "STOREPULSE_SSE_INITIAL_BACKLOG": "0",
        },
    )
    procs = []
    try:
        wait_ready(push.port, 60, push)
        _, rss_idle = proc_stats(push.proc.pid)
        stop = mp.get_context("spawn").Event()
        per = [clients // args.generators + (i < clients % args.generators) for i in range(args.generators)]
        pipes = []
        ctx = mp.get_context("spawn")
        for i, count in enumerate(per):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=run_clients, args=(push.port, shops, count, sum(per[:i]), child, stop))
            p.start()
            procs.append(p)
            pipes.append(parent)
        for pipe in pipes:
            await asyncio.to_thread(pipe.recv)
        async with httpx.AsyncClient() as http:  # wait until the server counts them all
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = (await http.get(f"http://127.0.0.1:{push.port}/metrics")).text
                found = re.search(r"^storepulse_push_connections (\S+)", text, re.M)
                if found and float(found.group(1)) >= clients:
                    break
                await asyncio.sleep(0.5)
        await publish_loop(redis_url, shops, args.rate, time.monotonic() + 2, args.burst)  # warm-up
        for pipe in pipes:
            pipe.send("reset")
        await asyncio.sleep(0.5)
        cpu0, _ = proc_stats(push.proc.pid)
        profiler = None
        if args.py_spy:
            out = args.py_spy.with_suffix(f".{clients}.txt")
            profiler = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for in a thread
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(push.proc.pid),
                    "-d",
                    str(int(args.duration)),
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        started = time.monotonic()
        await publish_loop(redis_url, shops, args.rate, started + args.duration, args.burst)
        await asyncio.sleep(1.0)  # let the last events arrive
        if profiler is not None:
            await asyncio.to_thread(profiler.wait, 30)
        elapsed = time.monotonic() - started
        cpu1, rss = proc_stats(push.proc.pid)
        latencies: list[float] = []
        held = 0
        for pipe in pipes:
            pipe.send("report")
            _, open_count, values = await asyncio.to_thread(pipe.recv)
            held += open_count
            latencies += values
        stop.set()
        messages = len(latencies)
        return Result(
            clients=clients,
            clients_held=held,
            shops=len(shops),
            rate_per_shop=args.rate,
            burst=args.burst,
            duration_s=round(elapsed, 2),
            messages=messages,
            messages_per_s=round(messages / elapsed),
            p50_ms=round(percentile(latencies, 50), 1),
            p99_ms=round(percentile(latencies, 99), 1),
            max_ms=round(max(latencies, default=float("nan")), 1),
            push_cpu_us_per_message=round((cpu1 - cpu0) / max(messages, 1) * 1e6, 2),
            push_rss_mb=round(rss / 2**20, 1),
            push_rss_kb_per_client=round((rss - rss_idle) / clients / 1024, 1),
            push_rss_mb_per_1000_clients=round((rss - rss_idle) / clients * 1000 / 2**20, 1),
        )
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
        push.stop()
        own_redis.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench_push", description=__doc__)
    parser.add_argument("--clients", default="1000,5000,10000", help="comma-separated client counts")
    parser.add_argument("--clients-per-shop", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per shop")
    parser.add_argument(
        "--burst", action="store_true", help="every shop publishes at the same instant (worst case)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--py-spy", type=Path, help="profile the push process into FILE.<clients>.txt")
    args = parser.parse_args(argv)
    raise_nofile()
    results = []
    for n in (int(x) for x in args.clients.split(",")):
        result = asyncio.run(bench_one(args, n))
        results.append(asdict(result))
        print(orjson.dumps(results[-1]).decode(), flush=True)
    if args.json:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
