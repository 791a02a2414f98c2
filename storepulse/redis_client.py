"""The Redis client every service uses: a blocking pool, so a burst waits for a connection.

redis-py's default pool raises once 100 connections are in use; 100 storefronts connecting
at once (a push restart) would then see 503s. A blocking pool queues them instead.
"""

from __future__ import annotations

import redis.asyncio as redis

from storepulse.settings import Settings

# Replies as these clients return them (no decode_responses): bytes. redis-py types every reply
# as `bytes | str` and stream entries as optional, so readers cast to these.
Hash = dict[bytes, bytes]
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


def redis_client(settings: Settings, *, socket_timeout: float | None = 5.0) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout,
    )
    return redis.Redis(connection_pool=pool)
