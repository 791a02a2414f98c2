"""The Shopify app install flow: GET /auth/install and GET /auth/callback.

install (Shopify-signed query) → Shopify's authorize page (with a random state we keep in Redis
for a while) → callback (Shopify-signed query) → code exchanged for an access token →
`Installer.install`: shop registered, webhook subscriptions created, backfill started → the
merchant lands in the app inside their admin. The app's managed install (admin/session.py: a
session token exchanged for an access token) ends in the same `Installer.install`.

Both requests must carry Shopify's signature over a fresh `timestamp`, and install requests are
limited per client IP: each one writes a state to Redis.
"""

from __future__ import annotations

import secrets
import time
from typing import cast

import redis.asyncio as redis
import structlog
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ingest.backfill_runs import BackfillRunning, BackfillRuns
from ingest.routing import SUBSCRIBED_TOPICS
from ingest.shop_gate import ShopGate
from shopify.admin import AdminApi, AdminApiError, Retryable
from shopify.oauth import Grant, OAuthError, authorize_url, exchange_code
from shopify.signature import verify_query
from shopify.subscriptions import subscribe_webhooks
from storepulse import redis_keys
from storepulse.contracts import is_shop_domain
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry

log = structlog.get_logger(__name__)


# How far ahead of our clock a signed `timestamp` may be (Shopify's clock is not ours).
CLOCK_SKEW_S = 60


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    log.info("install_refused", status=status, reason=message)
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def fresh(timestamp: str | None, max_age_s: float, now: float) -> bool:
    """True for a Unix `timestamp` (ASCII digits) at most `max_age_s` old and not from the future."""
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return now - max_age_s <= int(timestamp) <= now + CLOCK_SKEW_S


class InstallFailed(Exception):
    """The shop is registered but not fully installed; the message says why and what to do."""


class Installer:
    """Installs a shop whose access token was just granted, however it was granted."""

    def __init__(
        self,
        settings: Settings,
        registry: ShopRegistry,
        gate: ShopGate,
        api: AdminApi,
        backfills: BackfillRuns,
    ) -> None:
        self._callback_url = f"{settings.public_url.rstrip('/')}/webhooks/shopify"
        self._subscribe = not settings.webhooks_from_config
        self._registry = registry
        self._gate = gate
        self._api = api
        self._backfills = backfills

    async def install(self, grant: Grant) -> None:
        """Register the shop, subscribe its webhooks (unless the app's configuration does) and
        start its backfill (raises `InstallFailed`).

        Repeating it is harmless: Shopify keeps existing subscriptions, and a backfill already
        running goes on.
        """
        shop = grant.shop
        await self._registry.install(shop, grant.access_token, grant.scope)
        self._gate.forget(shop)  # `api` reads the shop's token from the registry from now on
        if self._subscribe:
            try:
                await subscribe_webhooks(self._api, shop, self._callback_url, SUBSCRIBED_TOPICS)
            except (AdminApiError, Retryable) as exc:
                log.error("webhook_subscription_failed", shop=shop, error=str(exc))
                # Not installed until subscribed: the next visit (callback or session) tries again.
                await self._registry.mark_uninstalled(shop)
                self._gate.forget(shop)
                raise InstallFailed("webhook subscription failed; open the app again to retry") from exc
        try:
            await self._backfills.start(shop)
        except BackfillRunning:
            pass
        log.info("shop_installed", shop=shop)


def install_routes(
    settings: Settings, client: redis.Redis, installer: Installer, api: AdminApi
) -> list[Route]:
    """The two routes; `api` carries the requests to Shopify."""
    secrets_ = settings.api_secrets
    public = settings.public_url.rstrip("/")
    limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
    per_ip = parse(settings.install_rate_per_ip)

    def unsigned(params: QueryParams) -> Response | None:
        """Why a request said to come from Shopify is refused; None when it is signed, fresh and
        names a shop."""
        if not verify_query(params.multi_items(), secrets_):
            return _error(401, "invalid hmac")
        if not is_shop_domain(params.get("shop", "").lower()):
            return _error(400, "invalid shop")
        if not fresh(params.get("timestamp"), settings.oauth_max_age_s, time.time()):
            return _error(401, "stale or missing timestamp")
        return None

    async def install(request: Request) -> Response:
        ip = request.client.host if request.client else "unknown"
        if not limiter.hit(per_ip, "install", ip):
            return _error(429, "too many install requests", {"Retry-After": "60"})
        if refusal := unsigned(request.query_params):
            return refusal
        shop = request.query_params["shop"].lower()
        state = secrets.token_urlsafe(24)
        await client.set(redis_keys.oauth_state(state), shop, ex=settings.oauth_state_ttl_s)
        approve = authorize_url(
            settings.admin_base_url(shop),
            client_id=settings.shopify_api_key,
            scopes=settings.shopify_scopes,
            redirect_uri=f"{public}/auth/callback",
            state=state,
        )
        return RedirectResponse(approve, 302)

    async def callback(request: Request) -> Response:
        params = request.query_params
        if refusal := unsigned(params):
            return refusal
        shop = params["shop"].lower()
        # One use only: a replayed callback finds no state.
        expected = cast(bytes | None, await client.getdel(redis_keys.oauth_state(params.get("state", ""))))
        if expected is None or expected.decode() != shop:
            return _error(403, "unknown or expired state")
        base = settings.admin_base_url(shop)
        try:
            grant = await exchange_code(
                api.http,
                base,
                shop,
                client_id=settings.shopify_api_key,
                client_secret=secrets_[0].decode(),
                code=params.get("code", ""),
            )
        except OAuthError as exc:
            return _error(502, str(exc))
        try:
            await installer.install(grant)
        except InstallFailed as exc:
            return _error(502, str(exc))
        return RedirectResponse(f"{base}/admin/apps/{settings.shopify_api_key}", 302)

    return [
        Route("/auth/install", install, methods=["GET"]),
        Route("/auth/callback", callback, methods=["GET"]),
    ]
