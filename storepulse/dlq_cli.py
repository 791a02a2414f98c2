"""`storepulse dlq list|replay [--shop S]`: the write-back's dead letters (`customer.changes.dlq`).

A tier change lands there when its tag could not be written to Shopify (no token, user errors,
retries exhausted), holding the reason. `list` shows each one and what became of it; `replay`
sends each pending one back to `customer.changes` under its own key, so it queues behind any
change of the same customer still waiting, and the write-back agent writes it like any other (a
failure there dead-letters it again, as a new entry).

Replaying is idempotent. What each dead letter came to is recorded in Redis by its partition and
offset once the broker has acknowledged the replay, so a second run replays nothing twice (a crash
in between replays it once more, which tagsAdd/tagsRemove make harmless). Only the latest dead
letter of a customer is replayed, and only while it is still the customer's standing: when their
tier today (the `vips:{shop}` read model) is not the one the change moved them to, a later change
has moved them on, and writing this one would undo it, so it is recorded as superseded.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import redis.asyncio as redis
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from storepulse import redis_keys
from storepulse.contracts import is_shop_domain
from storepulse.kafka_topics import TOPIC_CUSTOMER_CHANGES, TOPIC_CUSTOMER_CHANGES_DLQ
from storepulse.redis_client import Hash, redis_client
from storepulse.settings import Settings
from storepulse.topic_reader import read_topic

# What the write-back added to the change when it dead-lettered it.
FAILURE_FIELDS = ("reason", "failed_at")
PENDING = "pending"
REPLAYED = "replayed"
SUPERSEDED = "superseded"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for action, help_text in (
        ("list", "show every dead letter, its reason and whether it was replayed"),
        ("replay", "send each pending tier change back to the write-back"),
    ):
        sub.add_parser(action, help=help_text).add_argument("--shop", help="only this shop's")


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any]

    @property
    def ref(self) -> str:
        """Where it is in the topic: what replays are recorded by."""
        return f"{self.partition}:{self.offset}"

    @property
    def shop(self) -> str | None:
        shop = self.value.get("shop")
        return shop if isinstance(shop, str) else None

    def change(self) -> dict[str, Any] | None:
        """The tier change as the write-back reads it, or None for a record that is not one."""
        value = self.value
        if value.get("kind") != "tier" or self.shop is None or value.get("customer_id") is None:
            return None
        change = {k: v for k, v in value.items() if k not in FAILURE_FIELDS}
        return {**change, "replayed_from": self.ref}

    def line(self, status: str) -> str:
        v = self.value
        move = f"{v.get('tier_from') or '-'} -> {v.get('tier_to') or '-'}"
        fields = (
            self.ref,
            status,
            v.get("failed_at"),
            self.shop,
            v.get("customer_id"),
            move,
            v.get("reason"),
        )
        return "\t".join("-" if f is None else str(f) for f in fields)


def dead_letter(record: ConsumerRecord) -> DeadLetter:
    try:
        value = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError:
        value = {}
    return DeadLetter(record.partition, record.offset, record.key, value if isinstance(value, dict) else {})


class Replays:
    """What became of each dead letter, in Redis: `{partition}:{offset}` → outcome and time."""

    def __init__(self, client: redis.Redis, topic: str) -> None:
        self._client = client
        self._key = redis_keys.dlq_replays(topic)

    async def statuses(self) -> dict[str, str]:
        raw = cast(Hash, await self._client.hgetall(self._key))
        return {ref.decode(): orjson.loads(entry)["outcome"] for ref, entry in raw.items()}

    async def record(self, letter: DeadLetter, outcome: str) -> None:
        entry = orjson.dumps({"outcome": outcome, "at": datetime.now(UTC).isoformat()})
        await self._client.hset(self._key, letter.ref, entry)


async def tier_now(client: redis.Redis, shop: str, customer_id: object) -> str | None:
    """The customer's tier as the worker last stored it (no `vips` entry: no tier)."""
    raw = await client.hget(redis_keys.vips(shop), str(customer_id))
    return orjson.loads(raw).get("tier") if raw else None


def latest_per_customer(letters: Iterable[DeadLetter]) -> dict[bytes | None, DeadLetter]:
    """The last dead letter of each record key (one customer's changes share a partition, in order)."""
    latest: dict[bytes | None, DeadLetter] = {}
    for letter in sorted(letters, key=lambda d: (d.partition, d.offset)):
        latest[letter.key] = letter
    return latest


def outcome_of(letter: DeadLetter, latest: DeadLetter, tier_today: str | None) -> str:
    """REPLAYED when `letter` is its customer's latest dead letter and still their standing."""
    change = letter.change()
    if change is None or latest is not letter or tier_today != change.get("tier_to"):
        return SUPERSEDED
    return REPLAYED


async def replay(
    letters: list[DeadLetter], statuses: dict[str, str], replays: Replays, client: redis.Redis, bootstrap: str
) -> dict[str, int]:
    """Replay every pending tier change among `letters`; how many came to each outcome."""
    pending = [d for d in letters if statuses.get(d.ref, PENDING) == PENDING and d.change() is not None]
    latest = latest_per_customer(pending)
    counts = {REPLAYED: 0, SUPERSEDED: 0}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for letter in sorted(pending, key=lambda d: (d.partition, d.offset)):
            change = letter.change()
            assert change is not None  # only changes are pending here
            tier_today = await tier_now(client, change["shop"], change["customer_id"])
            outcome = outcome_of(letter, latest[letter.key], tier_today)
            if outcome == REPLAYED:
                await producer.send_and_wait(TOPIC_CUSTOMER_CHANGES, orjson.dumps(change), key=letter.key)
            await replays.record(letter, outcome)
            counts[outcome] += 1
            print(letter.line(outcome), flush=True)
    finally:
        await producer.stop()
    return counts


async def run(args: argparse.Namespace, settings: Settings) -> int:
    shop = args.shop.lower() if args.shop else None
    if shop is not None and not is_shop_domain(shop):
        print(f"{args.shop}: not a name.myshopify.com domain")
        return 2
    topic = TOPIC_CUSTOMER_CHANGES_DLQ
    try:
        records = await read_topic(settings.kafka_bootstrap, topic)
    except (KafkaError, LookupError, TimeoutError) as exc:
        print(f"{topic}: cannot read it: {exc}")
        return 1
    letters = [d for d in map(dead_letter, records) if shop is None or d.shop == shop]
    client = redis_client(settings)
    try:
        replays = Replays(client, topic)
        statuses = await replays.statuses()
        if args.action == "list":
            for letter in letters:
                status = statuses.get(letter.ref, PENDING if letter.change() else "not a tier change")
                print(letter.line(status))
            return 0
        counts = await replay(letters, statuses, replays, client, settings.kafka_bootstrap)
        done_before = sum(statuses.get(d.ref, PENDING) != PENDING for d in letters)
        print(
            f"replayed {counts[REPLAYED]}, superseded {counts[SUPERSEDED]}, "
            f"{done_before} already done by an earlier replay"
        )
        return 0
    finally:
        await client.aclose()


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> None:
    raise SystemExit(asyncio.run(run(args, settings)))
