"""The orders agent's step alone: µs per order of the customers, RFM, tiers and the purchase
notification, without Kafka, Redis or Faust's changelog path (no I/O, one process, one core).

    python -m loadtests.bench_step --orders 20000 [--profile]

The same orders as loadtests.bench_worker (10 per customer), in batches of 100, applied by
`CustomerBook.apply` and `purchase_notification` as streams/agents/orders.py does, each
notification serialised as the publisher does. The customer table is a dict here: what the worker
adds on top (the changelog, sends, Redis) is in bench_worker's figure. CPU time, best of 3.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time
from datetime import UTC, datetime
from typing import Any, cast

import faust
import redis.asyncio as redis
from faust.types import EventT

from ingest.routing import route
from loadtests.bench_worker import SHOP, orders
from loadtests.kafka_feed import envelope
from shopify.topics import ORDERS_CREATE
from storepulse.contracts import ShopSettings
from storepulse.settings import Settings
from streams.agents.customers import CustomerBook
from streams.domain.notifications import purchase_notification
from streams.runtime.batches import EventBatch
from streams.runtime.context import Context

BATCH = 100
ID_KEY = b"bench-notification-id-key-000000"


class _Message:
    partition = 0


class _Event:
    """What the step reads of a Faust event (table writes keep a weak reference to it)."""

    message = _Message()

    def __init__(self, key: bytes, value: bytes) -> None:
        self.key, self.value = key, value


def events(n: int) -> list[EventT]:
    out = []
    for order in orders(n, 10, random.Random(7)):
        routed = route(ORDERS_CREATE, SHOP, order)
        assert routed is not None
        out.append(cast(EventT, _Event(routed[1], envelope(ORDERS_CREATE, SHOP, order))))
    return out


def run(all_events: list[EventT]) -> float:
    """CPU seconds for every batch of `all_events`, from an empty table."""
    rules = ShopSettings(shop=SHOP)
    app = faust.App("bench-step", store="memory://")
    ctx = Context(
        app=cast(Any, app),
        settings=Settings(),
        redis=redis.Redis(),  # never connected: the step does no I/O
        publisher=cast(Any, None),
        schema=cast(Any, None),
        id_key=ID_KEY,
        registry=cast(Any, None),
    )
    book = CustomerBook(ctx, lambda shop: rules)
    book.table = cast(Any, {})

    def step(batch: EventBatch) -> None:
        applied = book.apply(batch)
        now = datetime.now(UTC)
        for event, env in applied.creates:
            batch.on_behalf_of(event)
            note = purchase_notification(
                env["shop"], env["payload"], now=now, rules=rules, catalog={}, id_key=ID_KEY
            )
            if note is not None:
                note.model_dump_json()

    began = time.process_time()
    for i in range(0, len(all_events), BATCH):
        EventBatch(all_events[i : i + BATCH]).apply(step)
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions too")
    args = parser.parse_args()
    all_events = events(args.orders)
    run(all_events[: 5 * BATCH])  # warm-up: Babel loads its locale data on the first notification
    best = min(run(all_events) for _ in range(3))
    print(f"{best / args.orders * 1e6:.1f} µs per order ({args.orders:,} orders, best of 3, CPU time)")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(run, all_events)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
