"""A Kafka producer that answers "in the broker" or raises BrokerUnavailable, within a deadline.

It is confluent-kafka (librdkafka): batching, the protocol and socket I/O run in C threads,
which took ingest's produce path from ~0.1 to ~0.04 CPU s per 1,000 records against aiokafka
(docs/ingest-profile.md). librdkafka reports each delivery from `poll()`, which a thread of
ours calls; the reports are handed to the event loop in one wake-up per poll, not one per record.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

log = structlog.get_logger(__name__)

# How long the poll thread blocks in librdkafka when there is nothing to report.
_POLL_S = 0.1


class BrokerUnavailable(Exception):
    """The record could not be acknowledged by the broker in time."""


class DurableProducer:
    """acks=all, optional idempotence; started lazily so ingest boots while Kafka is down."""

    def __init__(self, bootstrap: str, *, idempotent: bool, timeout: float, linger_ms: float = 5) -> None:
        timeout_ms = int(timeout * 1000)
        self._config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "client.id": "storepulse-ingest",
            "acks": "all",
            "enable.idempotence": idempotent,
            # Java's (and aiokafka's) key → partition mapping: streams relies on it
            # (streams.runtime.rekey.partition_of), librdkafka's default (CRC32) differs.
            "partitioner": "murmur2_random",
            # A few ms of batching: fewer, larger produce requests for the broker and for us.
            "linger.ms": linger_ms,
            # A record is either acknowledged or failed within the deadline Shopify allows us.
            # Equal request and message timeouts: no resend of a record can start (and later
            # be stored a second time) before its answer was already decided.
            "message.timeout.ms": timeout_ms,
            "request.timeout.ms": timeout_ms,
            "retry.backoff.ms": 50,
            # Back within a second of a broker restart (the default backs off up to 10 s).
            "reconnect.backoff.max.ms": 1000,
            "socket.nagle.disable": True,
            "logger": logging.getLogger("librdkafka"),
        }
        self._timeout = timeout
        self._producer: Producer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reports: deque[tuple[asyncio.Future[None], KafkaError | None]] = deque()
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None

    def _started(self) -> Producer:
        # Creating a librdkafka producer does not block: it connects in the background.
        if self._producer is None:
            self._loop = asyncio.get_running_loop()
            self._stopping.clear()
            self._producer = Producer(self._config)
            self._poller = threading.Thread(target=self._poll, name="kafka-delivery", daemon=True)
            self._poller.start()
        return self._producer

    def _poll(self) -> None:
        """The poll thread: delivery callbacks queue their reports, then one loop wake-up."""
        producer, loop = self._producer, self._loop
        assert producer is not None and loop is not None
        while not self._stopping.is_set():
            if producer.poll(_POLL_S):
                try:
                    loop.call_soon_threadsafe(self._settle)
                except RuntimeError:  # the loop is closed: no one waits for these reports
                    return

    def _settle(self) -> None:
        """In the event loop: resolve the futures of the delivery reports received so far."""
        reports = self._reports
        while reports:
            future, error = reports.popleft()
            if future.done():  # its sender timed out meanwhile
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(KafkaException(error))

    async def send(self, topic: str, key: bytes, value: bytes, partition: int | None = None) -> None:
        """Return once the broker acknowledged the record; BrokerUnavailable otherwise. Without
        `partition` the key's (murmur2) partition."""
        producer = self._started()
        assert self._loop is not None
        future: asyncio.Future[None] = self._loop.create_future()
        reports = self._reports

        def delivered(error: KafkaError | None, _: Message) -> None:  # in the poll thread
            reports.append((future, error))

        try:
            # -1: librdkafka's "unassigned", its partitioner (murmur2_random) picks by key.
            placed = -1 if partition is None else partition
            producer.produce(topic, value, key, partition=placed, on_delivery=delivered)
            # librdkafka also times the record out (message.timeout.ms); this bounds our wait
            # even if a report were late.
            async with asyncio.timeout(self._timeout):
                await future
        except (KafkaException, BufferError, TimeoutError) as exc:
            log.warning("produce_failed", topic=topic, error=type(exc).__name__, detail=str(exc))
            raise BrokerUnavailable(str(exc)) from exc

    async def reachable(self) -> bool:
        producer = self._started()
        try:
            metadata = await asyncio.to_thread(producer.list_topics, timeout=2.0)
        except KafkaException:
            return False
        return bool(metadata.brokers)

    async def stop(self) -> None:
        producer, poller = self._producer, self._poller
        if producer is None or poller is None:
            return
        await asyncio.to_thread(producer.flush, self._timeout)
        self._stopping.set()
        await asyncio.to_thread(poller.join)
        self._settle()
        self._producer = self._poller = None
