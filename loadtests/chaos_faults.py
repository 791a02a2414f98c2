"""The chaos run's system (broker, Redis with its append-only file, ingest, push, workers of one
group) and the faults it suffers, on a schedule drawn from the run's seed."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer

from storepulse.devstack import Child, Stack, start_redis, wait_ready
from storepulse.kafka_topics import (
    TOPIC_AUDIT,
    TOPIC_BEACONS,
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_CUSTOMERS,
    TOPIC_ORDER_EVENTS,
    TOPIC_ORDERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    TOPIC_SHOP_SETTINGS,
)

# Every topic a worker's agents read: each gets a record that is not an envelope at all.
INPUT_TOPICS = (
    TOPIC_ORDERS,
    TOPIC_CUSTOMERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    TOPIC_BEACONS,
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_SHOP_SETTINGS,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_ORDER_EVENTS,
    TOPIC_AUDIT,
)
POISON = b"\xff{not json"

FAULT_KINDS = ("worker_kill", "last_worker_kill", "broker_pause", "redis_restart", "push_kill", "poison")
# Ingest cannot take a webhook while the broker or the shop registry (Redis) is gone: 503s then
# (and a few seconds after, while producers and pools reconnect) are what Shopify redelivers.
REFUSING_KINDS = ("broker_pause", "redis_restart")
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: str


def schedule(
    rng: random.Random, duration_s: float, repeats: int, kinds: tuple[str, ...] = FAULT_KINDS
) -> list[Fault]:
    """Each of `kinds` `repeats` times, in a seeded order, spread over the load's first 80 %."""
    order = list(kinds) * repeats
    rng.shuffle(order)
    gap = duration_s * 0.8 / len(order)
    return [Fault(round(gap * i + rng.uniform(0, gap / 3), 1), kind) for i, kind in enumerate(order)]


@dataclass
class Injected:
    kind: str
    started: float
    repaired: float = 0.0
    recovered_s: float | None = None  # repair → a probe order's notification in Redis


@dataclass
class System:
    """The running stack of one chaos run."""

    stack: Stack
    redis_dir: Path
    worker_env: dict[str, str]
    workers: list[Child] = field(default_factory=list)
    push: Child | None = None
    ingest: Child | None = None
    _started: int = 0

    @classmethod
    def start(cls, log_dir: Path, env: dict[str, str], workers: int) -> System:
        stack = Stack(env=dict(env), log_dir=log_dir)
        system = cls(
            stack,
            log_dir / "redis-data",
            {
                "STOREPULSE_APP_ID": f"chaos-{uuid.uuid4().hex[:8]}",
                "STOREPULSE_BROKER_SESSION_TIMEOUT": "2.0",
                "STOREPULSE_BROKER_HEARTBEAT_INTERVAL": "0.5",
            },
        )
        system.redis_dir.mkdir()
        try:
            stack.start_infra(redis_dir=system.redis_dir)
            system.ingest = stack.start_service("ingest")
            system.push = stack.start_service("push")
            for _ in range(workers):
                system.start_worker()
            for child in [system.ingest, system.push, *system.workers]:
                wait_ready(child.port, READY_TIMEOUT_S, child)
        except BaseException:
            stack.stop()
            raise
        return system

    def start_worker(self) -> Child:
        self._started += 1
        worker = self.stack.start_service("worker", extra_env=self.worker_env, name=f"worker-{self._started}")
        self.workers.append(worker)
        return worker

    def child(self, name: str) -> Child:
        return next(c for c in self.stack.infra if c.name == name)

    @property
    def kafka(self) -> str:
        return self.stack.env["KAFKA_URL"].removeprefix("kafka://")

    async def inject(self, fault: Fault, rng: random.Random, pause_s: float) -> Injected:
        """Break something, wait, repair it; returns when every part is back (ready)."""
        injected = Injected(fault.kind, time.monotonic())
        if fault.kind == "worker_kill":
            await self._restart_workers([rng.choice(self.workers)], downtime_s=3)
        elif fault.kind == "last_worker_kill":
            # One down, then the survivor that took its partitions over, then both back.
            first = rng.choice(self.workers)
            first.kill()
            await asyncio.sleep(3)
            await self._restart_workers([first, *(w for w in self.workers if w is not first)], downtime_s=2)
        elif fault.kind == "broker_pause":
            broker = self.child("tansu")
            broker.pause()
            await asyncio.sleep(pause_s)
            broker.resume()
        elif fault.kind == "redis_restart":
            await self._restart_redis()
        elif fault.kind == "push_kill":
            assert self.push is not None
            self.push.kill()
            await asyncio.sleep(1)
            self.push = self.stack.start_service("push", port=self.push.port)
            await asyncio.to_thread(wait_ready, self.push.port, READY_TIMEOUT_S, self.push)
        elif fault.kind == "poison":
            await self._poison(rng)
        injected.repaired = time.monotonic()
        return injected

    async def _restart_workers(self, victims: list[Child], downtime_s: float) -> None:
        for victim in victims:
            victim.kill()
            self.workers.remove(victim)
        await asyncio.sleep(downtime_s)
        fresh = [self.start_worker() for _ in victims]
        for worker in fresh:
            await asyncio.to_thread(wait_ready, worker.port, READY_TIMEOUT_S, worker)

    async def _restart_redis(self) -> None:
        old = self.child("redis")
        old.kill()
        self.stack.infra.remove(old)
        await asyncio.sleep(2)
        # The same port and append-only file: what was acknowledged before the kill comes back.
        new = await asyncio.to_thread(start_redis, old.port, self.stack.log("redis"), None, self.redis_dir)
        self.stack.infra.append(new)
        self.stack.children.append(new)

    async def _poison(self, rng: random.Random) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka)
        await producer.start()
        try:
            for topic in INPUT_TOPICS:
                await producer.send_and_wait(topic, POISON, key=f"poison-{rng.randrange(10**6)}".encode())
        finally:
            await producer.stop()

    def stop(self) -> None:
        self.stack.stop()
