"""Moving events to the partition that owns them, and forgetting a shop's keys partition by partition.

Shopify sends some events keyed by something other than the owner of the state they change
(refunds and deletes name an order, compliance topics a shop). Those are forwarded, as the same
envelope plus `customer_id`, to an internal topic keyed by the owner, so each table key is only
ever written from its own partition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import faust
import orjson
from faust.types import EventT

from shopify.topics import SHOP_REDACT
from storepulse.envelope import decode_envelope
from storepulse.kafka_topics import partition_of

# The record key a table key was written under: the key itself for a table co-partitioned with
# its source (the default), the shop for one fed by a topic keyed by shop.
PlacedBy = Callable[[bytes], bytes]


def redacted_shop(event: EventT) -> str | None:
    """The shop of the shop/redact the compliance agent sent to a topic of envelopes keyed by shop."""
    envelope = decode_envelope(event.value)
    return envelope["shop"] if envelope["topic"] == SHOP_REDACT else None


def same_key(key: bytes) -> bytes:
    return key


def shop_of_key(key: bytes) -> bytes:
    """`{shop}` of a `{shop}/{id}` table key."""
    return key.partition(b"/")[0]


async def forward(topic: faust.TopicT, key: bytes, envelope: Mapping[str, Any], **extra: Any) -> None:
    await topic.send(key=key, value=orjson.dumps({**envelope, **extra}))


async def broadcast(topic: faust.TopicT, envelope: Mapping[str, Any], partitions: int) -> None:
    """One copy of `envelope` to every partition (work that touches every partition's keys)."""
    value = orjson.dumps(envelope)
    for partition in range(partitions):
        await topic.send(key=envelope["shop"].encode(), value=value, partition=partition)


def forget_shop(
    table: MutableMapping[bytes, Any],
    shop: str,
    partition: int,
    partitions: int,
    placed_by: PlacedBy = same_key,
) -> int:
    """Delete the shop's keys that live on `partition` (call from that partition's event, so the
    tombstones go to the changelog partition that holds the keys)."""
    prefix = f"{shop}/".encode()
    doomed = [
        k
        for k in list(table.keys())
        if k.startswith(prefix) and partition_of(placed_by(k), partitions) == partition
    ]
    for key in doomed:
        del table[key]
    return len(doomed)
