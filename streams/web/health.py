"""The worker's GET /health, /ready and /metrics (Faust web views)."""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as redis
from faust.tables.manager import TableManager
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.runtime import metrics
from streams.runtime.context import Context


def register(ctx: Context) -> None:
    app = ctx.app
    metrics.CONSUMER_LAG.app = app

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

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # One process, so this process's registry (no multiprocess mode; the lag is computed here).
        # The content type as a header: aiohttp refuses a charset inside `content_type`.
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
