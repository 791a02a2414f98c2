"""The ingest service: Shopify webhooks, the app install flow and the probes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from admin.app import create_admin_app
from admin.context import APP_PATH
from ingest import metrics
from ingest.backfill_runs import BackfillRuns
from ingest.beacons import beacon_routes
from ingest.events import event_routes
from ingest.install import Installer, install_routes
from ingest.producer import DurableProducer
from ingest.shop_gate import ShopGate
from ingest.webhooks import WebhookEndpoint
from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from storepulse.probes import probe_routes
from storepulse.redis_client import redis_client
from storepulse.settings import Settings, get_settings
from storepulse.shops import ShopRegistry, token_cipher


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    metrics.REJECTED.labels("method_not_allowed").inc()
    return JSONResponse({"error": "method not allowed"}, status_code=405, headers=exc.headers)


WEBHOOK_PATH = "/webhooks/shopify"


class IngestApp(Starlette):
    """Starlette, but a webhook POST goes straight to its bare ASGI handler: no routing,
    middleware or exception wrappers on the path every Shopify delivery takes. Anything else
    (other methods → 405, other paths) goes through Starlette as before."""

    def __init__(self, webhook: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self._webhook(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    producer = DurableProducer(
        settings.kafka_bootstrap,
        idempotent=settings.kafka_idempotent,
        timeout=settings.produce_timeout,
    )
    client = redis_client(settings, socket_timeout=2.0)
    registry = ShopRegistry(client, token_cipher(settings))
    gate = ShopGate(registry, settings.shop_cache_s, auto_install=settings.dev_auto_install)
    http = shopify_http(settings.shopify_admin_base_url, timeout=10.0)
    api = AdminApi(http, registry.access_token, api_version=settings.shopify_api_version)
    backfills = BackfillRuns(client, api, producer, settings)
    installer = Installer(settings, registry, gate, api, backfills)
    admin = create_admin_app(
        settings,
        client,
        http,
        registry,
        status_of=gate.status,
        installer=installer,
        backfills=backfills,
        producer=producer,
    )
    webhook = WebhookEndpoint(producer, registry, gate, settings.api_secrets, settings.webhook_max_bytes)

    async def ready_check() -> dict[str, bool]:
        return {"kafka": await producer.reachable(), "redis": await registry_reachable()}

    async def registry_reachable() -> bool:
        try:
            return bool(await client.ping())
        except (redis.RedisError, OSError):
            return False

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        admin.start()
        yield
        await backfills.aclose()
        await admin.aclose()
        await producer.stop()
        await http.aclose()
        await client.aclose()

    routes = [
        Route(WEBHOOK_PATH, webhook, methods=["POST"]),
        *install_routes(settings, client, installer, api),
        *beacon_routes(producer, settings, client, gate),
        *event_routes(producer, settings, client),
        *probe_routes(ready_check),
        Mount(APP_PATH, app=admin),
    ]
    return IngestApp(webhook, routes=routes, lifespan=lifespan, exception_handlers={405: method_not_allowed})
