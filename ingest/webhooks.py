"""POST /webhooks/shopify: verify, wrap in the envelope, produce durably, answer.

Every outcome is answered and counted; nothing but a broker acknowledgement earns a 200 for
a webhook we keep. Unknown topics and shops that did not install us get a 200 too, so that
Shopify stops retrying, but are dropped.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from cachetools import LRUCache
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest import metrics
from ingest.producer import BrokerUnavailable, DurableProducer
from ingest.routing import route
from ingest.shop_gate import ShopGate
from ingest.signature import verify
from storepulse.contracts import envelope_bytes, is_shop_domain
from storepulse.shops import ShopRegistry

log = structlog.get_logger(__name__)

# Stateless, so one instance serves every 200 (spares an encode per webhook).
_ACCEPTED = JSONResponse({"status": "accepted"})


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

    async def handle(self, request: Request) -> Response:
        metrics.RECEIVED.inc()
        headers = request.headers  # case-insensitive: HTTP/2 sends them lower-cased
        webhook_id = headers.get("x-shopify-webhook-id")
        with structlog.contextvars.bound_contextvars(webhook_id=webhook_id):
            try:
                body = await read_body(request, self._max_bytes)
            except BodyTooLarge:
                return refuse(413, "too_large", "body too large")
            if not verify(body, headers.get("x-shopify-hmac-sha256"), self._secrets):
                return refuse(401, "bad_signature", "invalid signature")
            topic = headers.get("x-shopify-topic")
            if not topic or not webhook_id:
                return refuse(400, "missing_header", "missing X-Shopify-Topic or X-Shopify-Webhook-Id")
            shop = (headers.get("x-shopify-shop-domain") or "").lower()
            if not is_shop_domain(shop):
                return refuse(400, "bad_shop_domain", "invalid X-Shopify-Shop-Domain")
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                return refuse(400, "bad_json", "body is not JSON")
            if not isinstance(payload, dict):
                return refuse(400, "bad_json", "body is not a JSON object")
            return await self._accept(webhook_id, topic, shop, payload, headers)

    async def _accept(
        self, webhook_id: str, topic: str, shop: str, payload: dict[str, Any], headers: Any
    ) -> Response:
        target = route(topic, shop, payload)
        if target is None:
            return drop("unknown_topic", topic=topic, shop=shop)
        try:
            refusal = await self._gate.refusal(shop, topic)
            if refusal is None and topic == "app/uninstalled":
                # A registry update, not a metric: the token is dead from now on.
                await self._registry.mark_uninstalled(shop)
                self._gate.forget(shop)
        except RedisError:
            return refuse(503, "registry_unavailable", "shop registry unavailable")
        if refusal is not None:
            return drop(refusal, topic=topic, shop=shop)
        kafka_topic, key = target
        envelope = envelope_bytes(
            webhook_id=webhook_id,
            topic=topic,
            shop=shop,
            payload=payload,
            event_id=headers.get("x-shopify-event-id"),
            api_version=headers.get("x-shopify-api-version"),
            triggered_at=headers.get("x-shopify-triggered-at"),
        )
        started = time.perf_counter()
        try:
            await self._producer.send(kafka_topic, key.encode(), envelope)
        except BrokerUnavailable:
            return refuse(503, "broker_unavailable", "broker unavailable")
        metrics.PRODUCE_SECONDS.observe(time.perf_counter() - started)
        metrics.ACCEPTED.labels(topic).inc()
        if webhook_id in self._seen:
            metrics.DUPLICATES.inc()
        self._seen[webhook_id] = True
        log.debug("webhook_accepted", topic=topic, shop=shop, kafka_topic=kafka_topic)
        return _ACCEPTED
