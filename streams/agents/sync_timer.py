"""The scheduled sync's clock: every `STOREPULSE_SYNC_TICK_S` each worker starts the shops' due or
requested syncs (ingest/sync_runs.py, where the lease makes one run per shop across workers), in
the background, and counts what each run did in the worker's metrics."""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from faust.types.tables import GlobalTableT

from ingest.producer import DurableProducer
from ingest.sync_runs import SyncOutcome, SyncRuns
from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from streams.agents.catalog import held_products
from streams.runtime.context import Context
from streams.runtime.metrics import (
    SYNC_CATALOG,
    SYNC_DRIFT,
    SYNC_ORDERS_FETCHED,
    SYNC_RUNS,
    SYNC_SECONDS,
    SYNC_SUBSCRIPTIONS_REPAIRED,
)
from streams.runtime.redis_retry import REDIS_DOWN, redis_step

log = structlog.get_logger(__name__)


def count(outcome: SyncOutcome) -> None:
    """A finished run in the worker's metrics (an interrupted one is counted when it resumes)."""
    if outcome.state not in ("done", "failed"):
        return
    SYNC_RUNS.labels(outcome.kind, outcome.state).inc()
    SYNC_SECONDS.labels(outcome.kind).observe(outcome.seconds)
    SYNC_ORDERS_FETCHED.inc(outcome.orders_fetched)
    SYNC_SUBSCRIPTIONS_REPAIRED.inc(len(outcome.subscriptions_repaired or ()))
    for name in ("found", "repaired", "unexplained"):
        SYNC_DRIFT.labels(name).inc((outcome.drift or {}).get(name, 0))
    for name in ("refreshed", "deleted"):
        SYNC_CATALOG.labels(name).inc((outcome.catalog or {}).get(name, 0))


def register(ctx: Context, products: GlobalTableT) -> SyncRuns:
    settings = ctx.settings

    async def access_token(shop: str) -> str | None:
        return await redis_step(ctx.registry.access_token, shop)

    http = shopify_http(settings.shopify_admin_base_url, timeout=httpx.Timeout(30.0, connect=5.0))
    api = AdminApi(http, access_token, api_version=settings.shopify_api_version)
    producer = DurableProducer(
        settings.kafka_bootstrap, idempotent=settings.kafka_idempotent, timeout=settings.produce_timeout
    )
    runs = SyncRuns(
        ctx.redis, ctx.registry, api, producer, settings, lambda shop: held_products(products, shop)
    )

    @ctx.app.timer(settings.sync_tick_s, name="sync-schedule")
    async def sync_schedule() -> None:
        try:
            await runs.tick(count)
        except REDIS_DOWN as exc:  # the next tick looks again; runs already going keep their lease
            log.warning("sync_tick_skipped", error=type(exc).__name__)

    @ctx.app.on_before_shutdown.connect
    async def stop_syncs(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        await runs.aclose()
        await producer.stop()
        await http.aclose()

    return runs
