"""POST /beacons: widget impressions, clicks, dismissals and page views → `widget.beacons`.

Public and called from every storefront (navigator.sendBeacon, text/plain so no preflight),
so it is small-bodied, validated with the `Beacon` contract and rate-limited per client IP
and per shop before anything reaches the broker. A page view also tells the merchant's app that
the shop's app embed is on (`widget-seen:{shop}`, written at most once a minute per shop).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import redis.asyncio as redis
import structlog
from cachetools import TTLCache
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.producer import BrokerUnavailable, DurableProducer
from storepulse import redis_keys
from storepulse.contracts import Beacon, is_shop_domain
from storepulse.kafka_topics import TOPIC_BEACONS
from storepulse.settings import Settings

log = structlog.get_logger(__name__)

MAX_BYTES = 1024
CORS = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def answer(status: int, reason: str | None = None, **headers: str) -> Response:
    if reason is None:
        return Response(status_code=status, headers=CORS)
    return JSONResponse({"error": reason}, status_code=status, headers={**CORS, **headers})


SEEN_EVERY_S = 60
SEEN_TTL_S = 30 * 86400


class Sightings:
    """Marks shops whose widget sends page views; a mark per shop a minute, whatever the traffic."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._recent: TTLCache[str, bool] = TTLCache(maxsize=100_000, ttl=SEEN_EVERY_S)

    async def saw(self, shop: str) -> None:
        if shop in self._recent:
            return
        self._recent[shop] = True
        try:
            await self._client.set(redis_keys.widget_seen(shop), int(time.time()), ex=SEEN_TTL_S)
        except (redis.RedisError, OSError) as exc:  # the beacon itself was taken: only the mark is lost
            log.warning("widget_seen_not_marked", shop=shop, reason=str(exc))


def beacon_routes(producer: DurableProducer, settings: Settings, client: redis.Redis) -> list[Route]:
    sightings = Sightings(client)
    limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
    per_ip = parse(settings.beacon_rate_per_ip)
    per_shop = parse(settings.beacon_rate_per_shop)

    async def beacons(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT)
        size = request.headers.get("content-length", "")
        if not size.isdigit():
            return answer(411, "content-length required")
        if int(size) > MAX_BYTES:
            return answer(413, "beacon too large")
        try:
            fields = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return answer(400, "body is not JSON")
        if not isinstance(fields, dict) or not is_shop_domain(str(fields.get("shop", ""))):
            return answer(400, "invalid shop")
        try:
            beacon = Beacon(**{**fields, "received_at": datetime.now(UTC)})
        except (ValidationError, TypeError):
            return answer(400, "invalid beacon")
        ip = request.client.host if request.client else "unknown"
        if not limiter.hit(per_ip, "ip", ip) or not limiter.hit(per_shop, "shop", beacon.shop):
            return answer(429, "rate limited", **{"Retry-After": "60"})
        try:
            await producer.send(TOPIC_BEACONS, beacon.shop.encode(), beacon.model_dump_json().encode())
        except BrokerUnavailable:
            return answer(503, "broker unavailable")
        if beacon.type == "page_view":
            await sightings.saw(beacon.shop)
        return answer(204)

    return [Route("/beacons", beacons, methods=["POST", "OPTIONS"])]
