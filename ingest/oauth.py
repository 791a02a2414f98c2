"""The Shopify app install flow: GET /auth/install and GET /auth/callback.

install → Shopify's authorize page (with a random state we keep in Redis for a while) →
callback (Shopify-signed query) → code exchanged for an access token → shop registered →
webhook subscriptions created → the merchant lands in the app inside their admin.
"""

from __future__ import annotations

import secrets
from typing import cast
from urllib.parse import urlencode

import httpx
import redis.asyncio as redis
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ingest.shop_gate import ShopGate
from ingest.signature import verify_query
from ingest.webhook_subscriptions import SubscriptionFailed, subscribe_webhooks
from storepulse import redis_keys
from storepulse.contracts import is_shop_domain
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry

log = structlog.get_logger(__name__)


def _error(status: int, message: str) -> Response:
    log.info("install_refused", status=status, reason=message)
    return JSONResponse({"error": message}, status_code=status)


def oauth_routes(
    settings: Settings, client: redis.Redis, registry: ShopRegistry, gate: ShopGate, http: httpx.AsyncClient
) -> list[Route]:
    secrets_ = settings.api_secrets
    public = settings.public_url.rstrip("/")

    async def install(request: Request) -> Response:
        shop = request.query_params.get("shop", "").lower()
        if not is_shop_domain(shop):
            return _error(400, "invalid shop")
        state = secrets.token_urlsafe(24)
        await client.set(redis_keys.oauth_state(state), shop, ex=settings.oauth_state_ttl_s)
        query = urlencode(
            {
                "client_id": settings.shopify_api_key,
                "scope": settings.shopify_scopes,
                "redirect_uri": f"{public}/auth/callback",
                "state": state,
            }
        )
        return RedirectResponse(f"{settings.admin_base_url(shop)}/admin/oauth/authorize?{query}", 302)

    async def callback(request: Request) -> Response:
        params = request.query_params
        if not verify_query(params.multi_items(), secrets_):
            return _error(401, "invalid hmac")
        shop = params.get("shop", "").lower()
        if not is_shop_domain(shop):
            return _error(400, "invalid shop")
        # One use only: a replayed callback finds no state.
        expected = cast(bytes | None, await client.getdel(redis_keys.oauth_state(params.get("state", ""))))
        if expected is None or expected.decode() != shop:
            return _error(403, "unknown or expired state")
        base = settings.admin_base_url(shop)
        try:
            answer = await http.post(
                f"{base}/admin/oauth/access_token",
                json={
                    "client_id": settings.shopify_api_key,
                    "client_secret": secrets_[0].decode(),
                    "code": params.get("code", ""),
                },
            )
        except httpx.HTTPError:
            return _error(502, "token exchange failed")
        if answer.status_code != 200:
            return _error(502, "token exchange refused")
        grant = answer.json()
        token = grant["access_token"]
        await registry.install(shop, token, grant.get("scope", ""))
        gate.forget(shop)
        try:
            await subscribe_webhooks(
                http,
                f"{base}/admin/api/{settings.shopify_api_version}/graphql.json",
                token,
                f"{public}/webhooks/shopify",
            )
        except (SubscriptionFailed, httpx.HTTPError) as exc:
            log.error("webhook_subscription_failed", shop=shop, error=str(exc))
            return _error(502, "webhook subscription failed; open the app again to retry")
        log.info("shop_installed", shop=shop)
        return RedirectResponse(f"{base}/admin/apps/{settings.shopify_api_key}", 302)

    return [
        Route("/auth/install", install, methods=["GET"]),
        Route("/auth/callback", callback, methods=["GET"]),
    ]
