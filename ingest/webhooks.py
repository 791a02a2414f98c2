"""POST /webhooks/shopify: verify, wrap in the envelope, produce durably, answer.

Every outcome is answered and counted; nothing but a broker acknowledgement earns a 200 for
a webhook we keep. Unknown topics and shops that did not install us get a 200 too, so that
Shopify stops retrying, but are dropped.

The endpoint is a bare ASGI app that the ingest app calls before any Starlette routing,
middleware or `Request` (those were half of ingest's CPU per webhook); its answers are
Starlette responses, sent as ASGI apps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import orjson
import structlog
from cachetools import LRUCache
from redis.exceptions import RedisError
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ingest import metrics
from ingest.payload_rules import kept_payload, names_another_shop
from ingest.producer import BrokerUnavailable, DurableProducer
from ingest.routing import ROUTES, route
from ingest.shop_gate import ShopGate
from shopify.signature import verify
from shopify.topics import APP_UNINSTALLED
from storepulse.contracts import is_shop_domain
from storepulse.envelope import envelope_bytes
from storepulse.shops import ShopRegistry

log = structlog.get_logger(__name__)

# Stateless, so one instance serves every 200 (spares an encode per webhook).
_ACCEPTED = JSONResponse({"status": "accepted"})
# Headers are not signed: a header value goes into log lines with at most this many characters
# (Shopify's webhook ids are 36), so no caller can fill the logs through them.
LOGGED_HEADER_CHARS = 64


def loggable(value: str | None) -> str | None:
    return value[:LOGGED_HEADER_CHARS] if value is not None else None


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    """The client went away before its body arrived: there is no one to answer."""


def shopify_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The `x-shopify-*` and `content-length` headers, lower-cased names (HTTP/2 sends them so),
    latin-1 values, first occurrence wins (as Starlette's `Headers.get`)."""
    found: dict[str, str] = {}
    for name, value in raw:
        name = name.lower()
        if name.startswith(b"x-shopify-") or name == b"content-length":
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The raw body, refusing early (without reading it all) once it passes `limit`."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            # One message carries the whole body, the usual case: no join.
            return b"".join((*chunks, chunk)) if chunks else chunk
        chunks.append(chunk)


def refuse(status: int, reason: str, message: str) -> Response:
    metrics.REJECTED.labels(reason).inc()
    log.info("webhook_rejected", reason=reason, status=status)
    return JSONResponse({"error": message}, status_code=status)


def drop(reason: str, **fields: Any) -> Response:
    metrics.DROPPED.labels(reason).inc()
    log.info("webhook_dropped", reason=reason, **fields)
    return JSONResponse({"status": "ignored"})


class WebhookEndpoint:
    def __init__(
        self,
        producer: DurableProducer,
        registry: ShopRegistry,
        gate: ShopGate,
        secrets: list[bytes],
        max_bytes: int,
    ) -> None:
        self._producer = producer
        self._registry = registry
        self._gate = gate
        self._secrets = secrets
        self._max_bytes = max_bytes
        # Webhook ids this process already got into Kafka, to count Shopify's redeliveries.
        self._seen: LRUCache[str, bool] = LRUCache(maxsize=50_000)
        # Label lookups resolved once: `labels()` costs a lock and a dict per call.
        self._accepted = {topic: metrics.ACCEPTED.labels(topic) for topic in ROUTES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics.RECEIVED.inc()
        headers = shopify_headers(scope["headers"])
        # Every log line of this delivery carries its webhook id (correlation).
        webhook_id = loggable(headers.get("x-shopify-webhook-id"))
        tokens = structlog.contextvars.bind_contextvars(webhook_id=webhook_id)
        try:
            response = await self._answer(headers, receive)
        except Disconnected:
            return
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
        await response(scope, receive, send)

    async def _answer(self, headers: dict[str, str], receive: Receive) -> Response:
        try:
            body = await read_body(receive, headers.get("content-length"), self._max_bytes)
        except BodyTooLarge:
            return refuse(413, "too_large", "body too large")
        if not verify(body, headers.get("x-shopify-hmac-sha256"), self._secrets):
            return refuse(401, "bad_signature", "invalid signature")
        topic = headers.get("x-shopify-topic")
        webhook_id = headers.get("x-shopify-webhook-id")
        if not topic or not webhook_id:
            return refuse(400, "missing_header", "missing X-Shopify-Topic or X-Shopify-Webhook-Id")
        shop = headers.get("x-shopify-shop-domain", "").lower()
        if not is_shop_domain(shop):
            return refuse(400, "bad_shop_domain", "invalid X-Shopify-Shop-Domain")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return refuse(400, "bad_json", "body is not JSON")
        if not isinstance(payload, dict):
            return refuse(400, "bad_json", "body is not a JSON object")
        if names_another_shop(topic, shop, payload):
            return refuse(400, "shop_mismatch", "the payload names another shop than X-Shopify-Shop-Domain")
        return await self._accept(webhook_id, topic, shop, payload, headers)

    async def _accept(
        self, webhook_id: str, topic: str, shop: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        target = route(topic, shop, payload)
        if target is None:
            return drop("unknown_topic", topic=loggable(topic), shop=shop)
        try:
            envelope = envelope_bytes(
                webhook_id=webhook_id,
                topic=topic,
                shop=shop,
                payload=kept_payload(topic, payload),
                event_id=headers.get("x-shopify-event-id"),
                api_version=headers.get("x-shopify-api-version"),
                triggered_at=headers.get("x-shopify-triggered-at"),
            )
        except orjson.JSONEncodeError:
            # orjson reads 1,024 levels of nesting but writes only 254.
            return refuse(400, "bad_json", "body is nested too deeply")
        try:
            refusal = await self._gate.refusal(shop, topic)
            if refusal is None and topic == APP_UNINSTALLED:
                # A registry update, not a metric: the token is dead from now on.
                await self._registry.mark_uninstalled(shop)
                self._gate.forget(shop)
        except RedisError:
            return refuse(503, "registry_unavailable", "shop registry unavailable")
        if refusal is not None:
            return drop(refusal, topic=topic, shop=shop)
        kafka_topic, key = target
        started = time.perf_counter()
        try:
            await self._producer.send(kafka_topic, key, envelope)
        except BrokerUnavailable:
            return refuse(503, "broker_unavailable", "broker unavailable")
        metrics.PRODUCE_SECONDS.observe(time.perf_counter() - started)
        self._accepted[topic].inc()
        if webhook_id in self._seen:
            metrics.DUPLICATES.inc()
        self._seen[webhook_id] = True
        log.debug("webhook_accepted", topic=topic, shop=shop, kafka_topic=kafka_topic)
        return _ACCEPTED
