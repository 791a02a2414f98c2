"""POST /beacons: widget impressions, clicks, dismissals, ghost impressions and page views →
`widget.beacons`, in batches (ingest/beacon_batches.py).

Public and called from every storefront (navigator.sendBeacon, text/plain so no preflight), so
nothing a browser sends may be used against a shop. In order: the body's size (2 KB), JSON and
shop domain, the beacon's type and fields (the `Beacon` contract), the shop (installed, or 404,
from the cached registry answer push also uses), the rate limits per client address and per
shop (in Redis, so every ingest process counts together; the address is the peer's, or what the
trusted proxy forwarded), then:
- a beacon with an `id` is taken once: the widget resends its offline queue, and a copy of a
  beacon already taken is answered 204 and dropped (`beacon-seen:{shop}:{id}`);
- a page view from an address that already reported `MAX_VIEWERS_PER_ADDRESS` other visitors on
  the product, or on the whole shop, in the last 5 minutes is dropped, so one client cannot
  inflate "N viewing now" or "N shoppers on the store" by inventing visitor ids.
A page view also tells the merchant's app that the shop's app embed is on (`widget-seen:{shop}`,
written at most once a minute per shop).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import get_args

import orjson
import redis.asyncio as redis
import structlog
from cachetools import TTLCache
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.beacon_batches import BeaconBatcher
from ingest.producer import BrokerUnavailable, DurableProducer
from ingest.shop_gate import ShopGate
from storepulse import redis_keys
from storepulse.contracts import Beacon, BeaconType, is_shop_domain
from storepulse.settings import Settings

log = structlog.get_logger(__name__)

MAX_BYTES = 2048
BEACON_TYPES = frozenset(get_args(BeaconType))
# A resent beacon comes within the widget's queue's life; a day covers it.
BEACON_ID_TTL_S = 86400
MAX_VIEWERS_PER_ADDRESS = 3
VIEW_WINDOW_S = 300  # as the viewers agent's window (streams/domain/windows.py)
# KEYS: the address's visitors of a product. ARGV: visitor, cap, ttl. 1: counted; 0: over the cap.
_ONE_OF_FEW = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 or redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""
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


class Guards:
    """The Redis-backed checks of a valid beacon: rate limits, repeated ids, viewers per address."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._client = client
        self._limiter = SlidingWindowCounterRateLimiter(
            RedisStorage(
                _limits_uri(settings),
                implementation="redispy",
                key_prefix=redis_keys.RATE_LIMIT_PREFIX,
                # Documented, though its annotation says otherwise: share ingest's own pool.
                connection_pool=client.connection_pool,  # type: ignore[arg-type]
            )
        )
        self._per_ip = parse(settings.beacon_rate_per_ip)
        self._per_shop = parse(settings.beacon_rate_per_shop)
        self._one_of_few = client.register_script(_ONE_OF_FEW)

    async def within_limits(self, ip: str, shop: str) -> bool:
        return await self._limiter.hit(self._per_ip, "beacon-ip", ip) and await self._limiter.hit(
            self._per_shop, "beacon-shop", shop
        )

    async def first_time(self, beacon: Beacon) -> bool:
        """Claims the beacon's id; False when a beacon with that id was taken already."""
        if beacon.id is None:
            return True
        return bool(
            await self._client.set(
                redis_keys.beacon_seen(beacon.shop, beacon.id), 1, nx=True, ex=BEACON_ID_TTL_S
            )
        )

    async def release(self, beacon: Beacon) -> None:
        """The beacon was not produced after all: its resend must be taken."""
        if beacon.id is not None:
            await self._client.delete(redis_keys.beacon_seen(beacon.shop, beacon.id))

    async def counts_as_viewer(self, beacon: Beacon, ip: str) -> bool:
        """A page view counts once the address is within its few visitors of the product (if any)
        and of the shop: every page view is a visitor of the store."""
        if beacon.type != "page_view":
            return True
        keys = [redis_keys.visitor_addresses(beacon.shop, ip)]
        if beacon.product_id is not None:
            keys.insert(0, redis_keys.viewer_addresses(beacon.shop, beacon.product_id, ip))
        for key in keys:
            cap: list[str | int] = [beacon.visitor, MAX_VIEWERS_PER_ADDRESS, VIEW_WINDOW_S]
            if not await self._one_of_few(keys=[key], args=cap):
                return False
        return True


def _limits_uri(settings: Settings) -> str:
    """`limits` wants a URI naming its storage; the pool it is given decides where it connects."""
    return "async+" + (settings.redis_url or "redis://127.0.0.1:6379/0")


def parse_beacon(body: bytes) -> Beacon | Response:
    """The beacon, or the 400 that says what is wrong with it."""
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError:
        return answer(400, "body is not JSON")
    if not isinstance(fields, dict) or not is_shop_domain(str(fields.get("shop", ""))):
        return answer(400, "invalid shop")
    if fields.get("type") not in BEACON_TYPES:
        return answer(400, "unknown beacon type")
    try:
        return Beacon(**{**fields, "received_at": datetime.now(UTC)})
    except (ValidationError, TypeError):
        return answer(400, "invalid beacon")


def beacon_routes(
    producer: DurableProducer, settings: Settings, client: redis.Redis, gate: ShopGate
) -> list[Route]:
    sightings = Sightings(client)
    guards = Guards(client, settings)
    batcher = BeaconBatcher(producer, settings.kafka_partitions)

    async def beacons(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT)
        size = request.headers.get("content-length", "")
        if not size.isdigit():
            return answer(411, "content-length required")
        if int(size) > MAX_BYTES:
            return answer(413, "beacon too large")
        beacon = parse_beacon(await request.body())
        if isinstance(beacon, Response):
            return beacon
        ip = request.client.host if request.client else "unknown"
        try:
            if await gate.refusal(beacon.shop, "") is not None:
                return answer(404, "unknown shop")
            if not await guards.within_limits(ip, beacon.shop):
                return answer(429, "rate limited", **{"Retry-After": "60"})
            if not await guards.first_time(beacon) or not await guards.counts_as_viewer(beacon, ip):
                return answer(204)  # taken before, or one viewer too many from this address
        except (redis.RedisError, OSError):
            return answer(503, "shop registry unavailable", **{"Retry-After": "5"})
        try:
            await batcher.send(beacon.shop, beacon.model_dump_json().encode())
        except BrokerUnavailable:
            await guards.release(beacon)
            return answer(503, "broker unavailable")
        if beacon.type == "page_view":
            await sightings.saw(beacon.shop)
        return answer(204)

    return [Route("/beacons", beacons, methods=["POST", "OPTIONS"])]
