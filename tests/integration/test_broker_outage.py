"""Nothing lost: ingest answers 200 only for records in Kafka, 503 in time while it is down.

Each test runs its own broker (Tansu, memory storage) so it can stop it without disturbing
the rest of the suite.
"""

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Child, Stack, start_broker
from storepulse.kafka_topics import TOPIC_ORDERS, ensure_topics
from tests.support.eventually import eventually
from tests.support.ingest import in_process_ingest, ingest_settings
from tests.support.kafka import envelopes, read
from tests.support.webhooks import deliver, post

# Shopify gives up on an answer after 5 s: a 503 must come sooner than that.
SHOPIFY_DEADLINE_S = 5.0


@dataclass
class Broker:
    child: Child

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.child.port}"

    async def start(self) -> None:
        self.child = await asyncio.to_thread(start_broker, self.child.port)
        await ensure_topics(self.bootstrap, 2)


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    b = Broker(await asyncio.to_thread(start_broker))
    await ensure_topics(b.bootstrap, 2)
    yield b
    b.child.stop()


@pytest.fixture
async def ingest(stack: Stack, broker: Broker) -> AsyncIterator[httpx.AsyncClient]:
    settings = ingest_settings(stack, KAFKA_URL=f"kafka://{broker.bootstrap}")
    async with in_process_ingest(settings) as client:
        yield client


@dataclass
class Outcomes:
    """What each webhook of a stream was answered, and how long the slowest answer took."""

    status: dict[str, int] = field(default_factory=dict)
    slowest_s: float = 0.0

    def ids(self, status: int) -> set[str]:
        return {i for i, s in self.status.items() if s == status}


async def stream(ingest: httpx.AsyncClient, shop: str, stop: asyncio.Event, senders: int = 8) -> Outcomes:
    """Send orders from `senders` concurrent clients until `stop` is set."""
    outcomes = Outcomes()

    async def sender() -> None:
        while not stop.is_set():
            hook = webhook(ORDERS_CREATE, shop, order())
            started = time.monotonic()
            outcomes.status[hook.webhook_id] = (await post(ingest, hook)).status_code
            outcomes.slowest_s = max(outcomes.slowest_s, time.monotonic() - started)

    await asyncio.gather(*(sender() for _ in range(senders)))
    return outcomes


def copies(records: list, shop: str) -> Counter[str]:
    return Counter(e["webhook_id"] for e in envelopes(records, shop))


async def test_killed_broker_means_503_in_time_and_recovery_after_restart(
    ingest: httpx.AsyncClient, broker: Broker, shop: str
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(stream(ingest, shop, stop))
    await asyncio.sleep(1.5)
    broker.child.kill()  # SIGKILL mid-stream: memory storage, so its records die with it
    killed_at = time.monotonic()
    await asyncio.sleep(SHOPIFY_DEADLINE_S + 1)
    assert (await ingest.get("/ready")).status_code == 503
    await broker.start()  # same port, empty
    restarted_at = time.monotonic()

    async def accepting() -> bool:
        return (await post(ingest, webhook(ORDERS_CREATE, shop, order()))).status_code == 200

    await eventually(accepting, timeout=30, every=0.2)
    recovered_s = time.monotonic() - restarted_at
    await asyncio.sleep(2)
    stop.set()
    outcomes = await running

    print(
        f"\nkill mid-stream: {len(outcomes.status)} webhooks, {len(outcomes.ids(200))} x 200, "
        f"{len(outcomes.ids(503))} x 503, slowest answer {outcomes.slowest_s:.2f}s, "
        f"accepting again {recovered_s:.2f}s after the restart ({restarted_at - killed_at:.1f}s outage)"
    )
    assert set(outcomes.status.values()) == {200, 503}
    assert outcomes.slowest_s < SHOPIFY_DEADLINE_S
    assert (await ingest.get("/ready")).status_code == 200

    # After the restart every webhook is accepted, and each one that got 200 is there once.
    after = [webhook(ORDERS_CREATE, shop, order()) for _ in range(50)]
    assert [(await post(ingest, hook)).status_code for hook in after] == [200] * 50
    want = {h.webhook_id for h in after}
    records = await read(broker.bootstrap, [TOPIC_ORDERS], lambda rs: want <= set(copies(rs, shop)))
    counts = copies(records, shop)
    assert all(counts[i] == 1 for i in want)


@pytest.fixture
def frozen() -> Iterator[list[Child]]:
    """Children this test froze with SIGSTOP, thawed whatever happens."""
    held: list[Child] = []
    yield held
    for child in held:
        os.killpg(child.proc.pid, signal.SIGCONT)


async def test_every_webhook_answered_200_is_in_kafka_exactly_once(
    ingest: httpx.AsyncClient, broker: Broker, shop: str, frozen: list[Child]
) -> None:
    """A broker that stops answering mid-stream (SIGSTOP: hung, not crashed, so it keeps
    its records) and comes back: every 200 must be in Kafka exactly once."""
    stop = asyncio.Event()
    running = asyncio.create_task(stream(ingest, shop, stop))
    await asyncio.sleep(1.5)
    frozen.append(broker.child)
    os.killpg(broker.child.proc.pid, signal.SIGSTOP)
    await asyncio.sleep(SHOPIFY_DEADLINE_S + 1)
    os.killpg(broker.child.proc.pid, signal.SIGCONT)
    await asyncio.sleep(3)
    stop.set()
    outcomes = await running

    accepted, refused = outcomes.ids(200), outcomes.ids(503)
    # Sent after the stream through the same producer: once it is in, a copy still on its way is too.
    marker = webhook(ORDERS_CREATE, shop, order())
    await deliver(ingest, marker)
    records = await read(
        broker.bootstrap, [TOPIC_ORDERS], lambda rs: accepted | {marker.webhook_id} <= set(copies(rs, shop))
    )
    counts = copies(records, shop)
    print(
        f"\nfreeze mid-stream: {len(outcomes.status)} webhooks, {len(accepted)} x 200, {len(refused)} x 503 "
        f"(of which {sum(1 for i in refused if counts[i])} reached Kafka anyway, for Shopify to redeliver); "
        f"duplicates on the broker: {sum(c - 1 for c in counts.values())}; "
        f"slowest answer {outcomes.slowest_s:.2f}s"
    )
    assert refused, "the freeze should have refused some webhooks"
    assert set(outcomes.status.values()) == {200, 503}
    assert outcomes.slowest_s < SHOPIFY_DEADLINE_S
    assert [i for i in accepted if counts[i] != 1] == []
