"""The worker's GET /health and /ready (Faust web views)."""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as redis
from faust.tables.manager import TableManager

from streams.runtime.context import Context


def register(ctx: Context) -> None:
    app = ctx.app

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        try:
            redis_ok = bool(await ctx.redis.ping())
        except (redis.RedisError, OSError):
            redis_ok = False
        assigned = bool(app.consumer.assignment()) if app.consumer else False
        recovery = cast(TableManager, app.tables).recovery
        kafka_ok = assigned and not app.rebalancing and recovery.completed.is_set()
        ok = redis_ok and kafka_ok
        return web.json({"ready": ok, "kafka": kafka_ok, "redis": redis_ok}, status=200 if ok else 503)
