"""What every agent module receives: the app, settings and shared clients."""

from __future__ import annotations

from dataclasses import dataclass

import faust
import redis.asyncio as redis

from storepulse.settings import Settings
from storepulse.shops import ShopRegistry
from streams.runtime.faust_seam import StreamsApp
from streams.runtime.publisher import NotificationPublisher


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
    # Keys notification ids so public ids do not reveal order ids (STOREPULSE_NOTIFICATION_ID_KEY).
    id_key: bytes
    registry: ShopRegistry
