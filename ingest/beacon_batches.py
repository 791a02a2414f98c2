"""Beacons produced in batches: one `widget.beacons` record per partition every few milliseconds.

The worker's cost is per record far more than per beacon (Faust's per-event path: see
docs/worker-profile.md), and a storefront sends many beacons for each order. So ingest gathers the
beacons each partition receives for up to `LINGER_S` (20 ms) (or `MAX_BEACONS`) into one record,
`{"beacons": [Beacon, …]}`, produced to that partition with the first beacon's shop as its key;
every beacon of a shop still lands on the shop's partition (storepulse/beacon_records.py reads
them). Each request is answered once its batch is acknowledged, so a 204 still means the beacon
is in Kafka.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ingest.producer import DurableProducer
from storepulse.beacon_records import MAX_BEACONS, batch_value
from storepulse.kafka_topics import TOPIC_BEACONS, partition_of, shop_key

# Long enough that a busy partition's beacons share records, short beside a beacon's p99 budget (50 ms).
LINGER_S = 0.02


@dataclass
class _Pending:
    key: bytes
    beacons: list[bytes] = field(default_factory=list)
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BeaconBatcher:
    """Gathers beacons per partition and produces each batch as one record."""

    def __init__(self, producer: DurableProducer, partitions: int) -> None:
        self._producer = producer
        self._partitions = partitions
        self._pending: dict[int, _Pending] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def send(self, shop: str, beacon: bytes) -> None:
        """Return once the batch holding `beacon` is acknowledged; BrokerUnavailable otherwise."""
        partition = partition_of(shop_key(shop), self._partitions)
        pending = self._pending.get(partition)
        if pending is None:
            pending = self._pending[partition] = _Pending(shop_key(shop))
            asyncio.get_running_loop().call_later(LINGER_S, self._flush, partition, pending)
        pending.beacons.append(beacon)
        if len(pending.beacons) >= MAX_BEACONS:
            self._flush(partition, pending)
        # shield: one request cancelled (its client went away) must not cancel the others' batch.
        await asyncio.shield(pending.done)

    def _flush(self, partition: int, pending: _Pending) -> None:
        if self._pending.get(partition) is not pending:
            return  # flushed already (full before its linger ran out)
        del self._pending[partition]
        task = asyncio.create_task(self._produce(partition, pending))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _produce(self, partition: int, pending: _Pending) -> None:
        try:
            await self._producer.send(TOPIC_BEACONS, pending.key, batch_value(pending.beacons), partition)
        except Exception as exc:  # BrokerUnavailable, or anything else: every waiting request learns it
            pending.done.set_exception(exc)
            pending.done.exception()  # retrieved: no warning when every request already went away
        else:
            pending.done.set_result(None)
