"""Access tokens from Shopify: the install flow's code grant, and an embedded app's token exchange.

The authorization-code grant (the authorize URL, then the code for a token) is ours: shopifyapp
does not cover it. An embedded app's session token (the App Bridge `id_token` JWT) is checked,
and exchanged for an offline access token (`urn:ietf:params:oauth:grant-type:token-exchange`),
by shopifyapp. Requests go through `shopify.http_client.shopify_http`, so they reach the fake
Shopify in tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import BaseModel, Field, ValidationError
from shopify_app import IdTokenDetails, RequestInput, Res, ResultWithExchangeableIdToken, ShopifyApp


@dataclass(frozen=True)
class Grant:
    """An offline access token for one shop and the scopes it carries."""

    shop: str
    access_token: str
    scope: str


class OAuthError(Exception):
    """Shopify refused a grant or could not be reached; the message says which."""


class _CodeGrant(BaseModel):
    """What Shopify answers a code grant with (other fields, e.g. `associated_user`, ignored)."""

    access_token: str = Field(min_length=1)
    scope: str = ""


def authorize_url(admin_base: str, *, client_id: str, scopes: str, redirect_uri: str, state: str) -> str:
    """Shopify's page where the merchant approves the install (`admin_base`: the shop's admin)."""
    query = urlencode({"client_id": client_id, "scope": scopes, "redirect_uri": redirect_uri, "state": state})
    return f"{admin_base}/admin/oauth/authorize?{query}"


async def exchange_code(
    http: httpx.AsyncClient, admin_base: str, shop: str, *, client_id: str, client_secret: str, code: str
) -> Grant:
    """The access token for the authorization `code` Shopify put on the install callback."""
    try:
        answer = await http.post(
            f"{admin_base}/admin/oauth/access_token",
            json={"client_id": client_id, "client_secret": client_secret, "code": code},
        )
    except httpx.HTTPError as exc:
        raise OAuthError("token exchange failed") from exc
    if answer.status_code != 200:
        raise OAuthError("token exchange refused")
    try:
        grant = _CodeGrant.model_validate_json(answer.content)
    except ValidationError as exc:
        raise OAuthError("token exchange answered without an access token") from exc
    return Grant(shop, grant.access_token, grant.scope)


class SessionTokens:
    """An embedded app's session tokens: checked, and exchanged for offline access tokens.

    `secrets` as rotated, the current one first. shopifyapp takes a current and one old secret,
    so a longer list becomes several of its apps; the first signs the exchange.
    """

    def __init__(self, client_id: str, secrets: Sequence[bytes], http: httpx.AsyncClient) -> None:
        if not secrets:
            raise ValueError("no app secret configured")
        pairs = [secrets[i : i + 2] for i in range(0, len(secrets), 2)]
        self._apps = [
            ShopifyApp(client_id, p[0].decode(), p[1].decode() if len(p) > 1 else None) for p in pairs
        ]
        self._http = http

    def verify(
        self, method: str, url: str, headers: Mapping[str, str], patch_id_token_path: str
    ) -> ResultWithExchangeableIdToken:
        """shopifyapp's verdict on an App Home request and its session token.

        The token comes from `Authorization: Bearer` (App Bridge's fetches) or `?id_token=` (a
        document load); a document without a valid one is answered by `response`, a redirect to
        `patch_id_token_path`. `ok` means one of our secrets signed it, for our app, and it is current.
        """
        request: RequestInput = {"method": method, "url": url, "headers": dict(headers), "body": ""}
        verdict = self._apps[0].verify_app_home_req(request, patch_id_token_path)
        for app in self._apps[1:]:
            if verdict.ok:
                break
            result = app.verify_app_home_req(request, patch_id_token_path)
            # A refusal by the app whose secret signed the token (expired, wrong aud) says more
            # than the others' "invalid signature".
            if result.ok or verdict.log.code == "invalid_id_token":
                verdict = result
        return verdict

    def patch_page(self, url: str) -> Res:
        """shopifyapp's page for a document load without a current token (`url`: the
        `patch_id_token_path` it redirected to): App Bridge fetches a fresh session token and
        reloads the page named in `shopify-reload`."""
        request: RequestInput = {"method": "GET", "url": url, "headers": {}, "body": ""}
        return self._apps[0].app_home_patch_id_token(request).response

    async def exchange(self, id_token: IdTokenDetails) -> Grant:
        """An offline, non-expiring access token (what the install flow stores) for a verified token."""
        result = await self._apps[0].exchange_using_token_exchange_async(
            "offline", id_token=id_token, expiring=False, http_client=self._http
        )
        if not result.ok or result.access_token is None:
            raise OAuthError(f"token exchange refused: {result.log.code}")
        shop = urlsplit(id_token.claims["dest"]).hostname or ""
        return Grant(shop, result.access_token.token, result.access_token.scope)
