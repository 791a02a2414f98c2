"""POST /beacons: widget impressions, clicks, dismissals and page views → `widget.beacons`.

Public and called from every storefront (navigator.sendBeacon, text/plain so no preflight),
so it is small-bodied, validated with the `Beacon` contract and rate-limited per client IP
and per shop before anything reaches the broker.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import structlog
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.producer import BrokerUnavailable, DurableProducer
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


def beacon_routes(producer: DurableProducer, settings: Settings) -> list[Route]:
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
        return answer(204)

    return [Route("/beacons", beacons, methods=["POST", "OPTIONS"])]
