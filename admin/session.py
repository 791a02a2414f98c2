"""Who is asking: the Shopify session token on every `/app` request, and the one shop it names.

Pages carry the token as `?id_token=` (Shopify's embedded launch), API calls as
`Authorization: Bearer` (App Bridge adds it to every fetch). Both go through
`shopify.oauth.SessionTokens` (shopifyapp's `verify_app_home_req`: HS256 only, every rotated
secret, `aud` = the app's API key, `exp`/`nbf` with 10 s of leeway); on top of it the token must
name its shop consistently (`dest` = `https://{shop}`, `iss` = `https://{shop}/admin`) and carry
`exp` and `nbf`. The shop comes from `dest` and nowhere else: no query parameter or body field
can point a session at another shop.

A valid token for a shop that is not installed starts the managed install: the token is
exchanged for an offline access token and `ingest.install.Installer` does the rest (as after
the OAuth callback).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import structlog
from shopify_app import IdTokenDetails
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest.install import Installer, InstallFailed
from shopify.oauth import OAuthError, SessionTokens
from storepulse.contracts import is_shop_domain
from storepulse.shops import INSTALLED

log = structlog.get_logger(__name__)

# What a refusal says, by shopifyapp's log code (the merchant's browser sees it).
REASONS = {
    "missing_authorization_and_id_token": "no session token",
    "redirect_to_patch_id_token_page": "no session token",
    "expired_id_token": "session token expired",
    "invalid_id_token": "invalid session token (signature, algorithm, format or not yet valid)",
    "invalid_aud": "session token is for another app (aud)",
}
DEV_TOKEN_TTL_S = 12 * 3600

StatusOf = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class Session:
    """A verified session: the shop it is for, and the response headers a page load must carry
    (Shopify's `Content-Security-Policy: frame-ancestors …` and App Bridge preloads)."""

    shop: str
    user_id: str | None
    page_headers: Mapping[str, str]


class Refused(Exception):
    """No session: `status` 401 (no valid token) or 403 (valid, but the install failed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def shop_of(claims: Mapping[str, Any]) -> str:
    """The shop domain a verified token names; raises `Refused` unless `dest` and `iss` agree."""
    dest = claims.get("dest")
    parts = urlsplit(dest) if isinstance(dest, str) else None
    shop = parts.hostname if parts else None
    if (
        parts is None
        or shop is None
        or not is_shop_domain(shop)
        or dest != f"https://{shop}"
        or claims.get("iss") != f"https://{shop}/admin"
    ):
        raise Refused(401, "session token names no shop (dest, iss)")
    if "exp" not in claims or "nbf" not in claims:
        raise Refused(401, "session token without exp or nbf")
    return shop


def dev_session_token(shop: str, api_key: str, secret: str, ttl_s: int = DEV_TOKEN_TTL_S) -> str:
    """A session token as App Bridge would hand the app for `shop`, for `storepulse dev` (no
    Shopify admin around it): signed with the dev stack's secret, valid `ttl_s`."""
    now = int(time.time())
    claims = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": api_key,
        "sub": "dev",
        "exp": now + ttl_s,
        "nbf": now,
        "iat": now,
        "jti": secrets.token_hex(8),
        "sid": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class SessionAuth:
    """Verifies sessions and installs the shops they name on first sight."""

    def __init__(
        self, tokens: SessionTokens, status_of: StatusOf, installer: Installer, patch_path: str
    ) -> None:
        self._tokens = tokens
        self._status_of = status_of
        self._installer = installer
        self._patch_path = patch_path
        self._installing: dict[str, asyncio.Task[None]] = {}

    async def api(self, request: Request, *, query_token: bool = False) -> Session:
        """The session of an API call (`Authorization: Bearer`; also `?id_token=` for downloads,
        which a browser starts as a navigation). Raises `Refused`."""
        if "authorization" not in request.headers and not (
            query_token and request.query_params.get("id_token")
        ):
            raise Refused(401, "no session token (Authorization: Bearer)")
        return await self._verified(request)

    async def page(self, request: Request) -> Session | Response:
        """The session of a page load, or the response to give instead: Shopify's bounce page that
        fetches a fresh token when the page is embedded, else `Refused`."""
        try:
            return await self._verified(request)
        except Refused:
            embedded = request.query_params.get("embedded") == "1" and request.query_params.get("shop")
            if embedded and "authorization" not in request.headers:
                result = self._tokens.verify("GET", str(request.url), {}, self._patch_path)
                if result.response.status == 302:
                    return Response(status_code=302, headers=dict(result.response.headers))
            raise

    def patch_page(self, request: Request) -> Response:
        """Shopify's bounce page (App Bridge fetches a fresh session token, then reloads the page)."""
        answer = self._tokens.patch_page(str(request.url))
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    async def _verified(self, request: Request) -> Session:
        result = self._tokens.verify(request.method, str(request.url), request.headers, self._patch_path)
        if not result.ok or result.id_token is None:
            raise Refused(401, REASONS.get(result.log.code, "invalid session token"))
        shop = shop_of(result.id_token.claims)
        if await self._status_of(shop) != INSTALLED:
            await self._install(shop, result.id_token)
        return Session(shop, result.user_id, dict(result.response.headers))

    async def _install(self, shop: str, id_token: IdTokenDetails) -> None:
        """The managed install, once per shop however many requests arrive meanwhile."""
        task = self._installing.get(shop)
        if task is None:
            task = self._installing[shop] = asyncio.create_task(self._exchange_and_install(id_token))
            task.add_done_callback(lambda _: self._installing.pop(shop, None))
        try:
            await asyncio.shield(task)
        except (OAuthError, InstallFailed) as exc:
            log.warning("managed_install_failed", shop=shop, reason=str(exc))
            raise Refused(403, f"install failed: {exc}") from exc

    async def _exchange_and_install(self, id_token: IdTokenDetails) -> None:
        grant = await self._tokens.exchange(id_token)
        await self._installer.install(grant)
        log.info("managed_install", shop=grant.shop)


def refusal(exc: Refused) -> Response:
    """An API refusal: JSON with the reason; a 401 asks App Bridge to retry with a fresh token."""
    headers = {"X-Shopify-Retry-Invalid-Session-Request": "1"} if exc.status == 401 else {}
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=headers)
