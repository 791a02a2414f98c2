"""POST /webhooks/shopify: verify, wrap in the envelope, produce durably, answer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.beacons import beacon_routes
from ingest.producer import BrokerUnavailable, DurableProducer
from ingest.routing import route
from ingest.signature import verify
from storepulse.contracts import is_shop_domain
from storepulse.probes import probe_routes
from storepulse.settings import Settings, get_settings

log = structlog.get_logger(__name__)


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing early (without reading it all) once it passes `limit`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def error(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    producer = DurableProducer(
        settings.kafka_bootstrap,
        idempotent=settings.kafka_idempotent,
        timeout=settings.produce_timeout,
    )
    secrets = settings.api_secrets

    async def webhook(request: Request) -> Response:
        headers = request.headers  # case-insensitive: HTTP/2 sends them lower-cased
        try:
            body = await read_body(request, settings.webhook_max_bytes)
        except BodyTooLarge:
            return error(413, "body too large")
        if not verify(body, headers.get("x-shopify-hmac-sha256"), secrets):
            return error(401, "invalid signature")
        topic = headers.get("x-shopify-topic")
        shop = (headers.get("x-shopify-shop-domain") or "").lower()
        webhook_id = headers.get("x-shopify-webhook-id")
        if not topic or not webhook_id:
            return error(400, "missing X-Shopify-Topic or X-Shopify-Webhook-Id")
        if not is_shop_domain(shop):
            return error(400, "invalid X-Shopify-Shop-Domain")
        try:
            payload: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error(400, "body is not JSON")
        if not isinstance(payload, dict):
            return error(400, "body is not a JSON object")
        target = route(topic, shop, payload)
        bound = log.bind(webhook_id=webhook_id, topic=topic, shop=shop)
        if target is None:
            bound.info("webhook_topic_ignored")
            return JSONResponse({"status": "ignored"})
        kafka_topic, key = target
        envelope = {
            "webhook_id": webhook_id,
            "event_id": headers.get("x-shopify-event-id"),
            "topic": topic,
            "shop": shop,
            "api_version": headers.get("x-shopify-api-version"),
            "triggered_at": headers.get("x-shopify-triggered-at"),
            "received_at": datetime.now(UTC),
            "payload": payload,
        }
        try:
            await producer.send(kafka_topic, key.encode(), orjson.dumps(envelope))
        except BrokerUnavailable:
            return error(503, "broker unavailable")
        bound.debug("webhook_accepted", kafka_topic=kafka_topic)
        return JSONResponse({"status": "accepted"})

    async def ready_check() -> dict[str, bool]:
        return {"kafka": await producer.reachable()}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await producer.stop()

    routes = [Route("/webhooks/shopify", webhook, methods=["POST"]), *probe_routes(ready_check)]
    routes += beacon_routes(producer, settings)
    return Starlette(routes=routes, lifespan=lifespan)
