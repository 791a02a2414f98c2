"""What the customers step sends to the order index (`streams.order-events`), in order.

The first time a customer's order is counted, its owner goes to the `order-owners` table (see
streams/agents/order_owners.py) bundled with the batch's other orders of that shop and
partition: one record per batch and partition, not one per order. Any other record for the
index closes the open bundles, so an owner never overtakes e.g. a redaction of the same order.
"""

from __future__ import annotations

from typing import Any

import faust
import orjson

from storepulse.envelope import ORDER_OWNERS
from storepulse.kafka_topics import item_key, partition_of


class Outbox:
    """Records one batch produces once its table writes are done, in the order they were added."""

    def __init__(self, order_events: faust.TopicT, partitions: int) -> None:
        self._order_events = order_events
        self._partitions = partitions
        self._records: list[tuple[faust.TopicT, bytes, dict[str, Any]]] = []
        # The order-owners records still taking entries, by (shop, partition).
        self._open_owners: dict[tuple[str, int], dict[str, str | None]] = {}

    def add(self, topic: faust.TopicT, key: bytes, record: dict[str, Any]) -> None:
        self._records.append((topic, key, record))

    def to_order_index(self, key: bytes, record: dict[str, Any]) -> None:
        self._open_owners.clear()
        self.add(self._order_events, key, record)

    def owner(self, shop: str, order_id: str, customer_id: str | None) -> None:
        """Record who owns `order_id` (None: a guest order)."""
        key = item_key(shop, order_id)
        place = (shop, partition_of(key, self._partitions))
        bundle = self._open_owners.get(place)
        if bundle is None:
            bundle = self._open_owners[place] = {}
            # Keyed by its first order: every order in it hashes to the same partition.
            self.add(
                self._order_events, key, {"topic": ORDER_OWNERS, "shop": shop, "payload": {"owners": bundle}}
            )
        bundle[order_id] = customer_id

    async def send(self) -> None:
        for topic, key, record in self._records:
            await topic.send(key=key, value=orjson.dumps(record))
