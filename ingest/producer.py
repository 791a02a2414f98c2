"""A Kafka producer that answers "in the broker" or raises BrokerUnavailable, within a deadline."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

log = structlog.get_logger(__name__)


class BrokerUnavailable(Exception):
    """The record could not be acknowledged by the broker in time."""


class DurableProducer:
    """acks=all, optional idempotence; started lazily so ingest boots while Kafka is down."""

    def __init__(self, bootstrap: str, *, idempotent: bool, timeout: float) -> None:
        self._bootstrap = bootstrap
        self._idempotent = idempotent
        self._timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    acks="all",
                    enable_idempotence=self._idempotent,
                    linger_ms=1,
                    request_timeout_ms=int(self._timeout * 1000),
                    retry_backoff_ms=50,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
        return self._producer

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Return once the broker acknowledged the record; BrokerUnavailable otherwise."""
        try:
            async with asyncio.timeout(self._timeout):
                producer = await self._started()
                await producer.send_and_wait(topic, value, key=key)
        except (KafkaError, TimeoutError, OSError) as exc:
            log.warning("produce_failed", topic=topic, error=type(exc).__name__)
            raise BrokerUnavailable(str(exc)) from exc

    async def reachable(self) -> bool:
        try:
            async with asyncio.timeout(2.0):
                producer = await self._started()
                return bool(await producer.client.fetch_all_metadata())
        except (KafkaError, TimeoutError, OSError):
            return False

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
