"""What every agent module receives: the app, settings and shared clients."""

from __future__ import annotations

from dataclasses import dataclass

import faust
import redis.asyncio as redis
from faust.types import TransportT

from storepulse.settings import Settings
from streams.runtime.publisher import NotificationPublisher
from streams.runtime.transport import LowLatencyTransport


class StreamsApp(faust.App):
    """faust.App with the low-latency consumer transport."""

    fetch_wait_ms: int = 100

    def _new_transport(self) -> TransportT:
        return LowLatencyTransport(self.conf.broker_consumer, self)


@dataclass
class Context:
    """What every agent module may use."""

    app: StreamsApp
    settings: Settings
    redis: redis.Redis
    publisher: NotificationPublisher
    # Table schema for `{shop}/{id}` byte keys and JSON values. Tables also need
    # key_type=bytes: Faust takes a table's key serializer from key_type, not from the
    # schema, and with json keys the changelog cannot be read back (KeyDecodeError).
    schema: faust.Schema
    # Keys notification ids so public ids do not reveal order ids.
    id_key: bytes
