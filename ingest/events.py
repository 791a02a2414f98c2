"""POST /api/events: the events API for review apps, newsletter tools and a merchant's own flows.

`Authorization: Bearer <key>` names the shop (storepulse/event_keys.py); the body's fields are
checked with `ApiEvent`, and an accepted event is in the broker (`api.events`, keyed by the key's
shop) before the 202. Each key has a rate limit counted in Redis, so it holds across ingest
processes. docs/events-api.md has the contract and a curl example.
"""

from __future__ import annotations

import hashlib

import orjson
import redis.asyncio as redis
import structlog
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.producer import BrokerUnavailable, DurableProducer
from storepulse import redis_keys
from storepulse.contracts import MAX_EVENT_BYTES, ApiEvent
from storepulse.envelope import API_EVENT, envelope_bytes
from storepulse.event_keys import EventKeys
from storepulse.kafka_topics import TOPIC_API_EVENTS, shop_key
from storepulse.settings import Settings

log = structlog.get_logger(__name__)
EVENTS_PATH = "/api/events"
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="storepulse-events"'}


def _error(status: int, reason: str, **extra: object) -> Response:
    headers = UNAUTHORIZED if status == 401 else {"Retry-After": "60"} if status == 429 else None
    return JSONResponse({"error": reason, **extra}, status_code=status, headers=headers)


async def _body(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_EVENT_BYTES (whatever Content-Length claimed)."""
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > MAX_EVENT_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_EVENT_BYTES:
            return None
    return body


def _invalid(exc: ValidationError) -> Response:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]} for e in exc.errors()
    ]
    return _error(422, f"invalid `{errors[0]['field']}`: {errors[0]['problem']}", errors=errors)


def event_routes(producer: DurableProducer, settings: Settings, client: redis.Redis) -> list[Route]:
    keys = EventKeys(client)
    limiter = MovingWindowRateLimiter(
        RedisStorage(
            "async+" + settings.redis_url, implementation="redispy", key_prefix=redis_keys.EVENTS_RATE_PREFIX
        )
    )
    per_key = parse(settings.events_rate_per_key)

    async def events(request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        try:
            owner = await keys.owner(key.strip()) if scheme.lower() == "bearer" else None
            if owner is None:
                return _error(401, "unknown or revoked key")
            body = await _body(request)
            if body is None:
                return _error(413, f"the body is over {MAX_EVENT_BYTES} bytes")
            if not await limiter.hit(per_key, owner.shop, owner.key_id):
                return _error(429, "rate limited")
        except (redis.RedisError, OSError, StorageError) as exc:
            log.warning("events_redis_unavailable", reason=str(exc))
            return _error(503, "try again")
        try:
            fields = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(422, "invalid `body`: not JSON")
        if not isinstance(fields, dict):
            return _error(422, "invalid `body`: not a JSON object")
        try:
            event = ApiEvent.model_validate(fields)
        except ValidationError as exc:
            return _invalid(exc)
        # The delivery id logs show: stable for the event, naming neither key nor shop.
        delivery = hashlib.blake2b(
            f"{owner.shop}|{event.idempotency_key}".encode(), digest_size=12
        ).hexdigest()
        envelope = envelope_bytes(
            webhook_id=f"api-{delivery}",
            topic=API_EVENT,
            shop=owner.shop,
            payload=event.model_dump(mode="json", exclude_none=True),
        )
        try:
            await producer.send(TOPIC_API_EVENTS, shop_key(owner.shop), envelope)
        except BrokerUnavailable:
            return _error(503, "broker unavailable")
        log.info("api_event_accepted", shop=owner.shop, kind=event.kind, webhook_id=f"api-{delivery}")
        return JSONResponse({"status": "accepted"}, status_code=202)

    return [Route(EVENTS_PATH, events, methods=["POST"])]
