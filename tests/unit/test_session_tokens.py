"""Session tokens as the merchant's app checks them (admin/session.py), on every kind of bad token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from admin.session import Refused, SessionAuth, dev_session_token, refusal
from shopify.oauth import SessionTokens
from storepulse.shops import INSTALLED

API_KEY = "app-api-key"
SECRETS = ["a" * 64, "b" * 64, "c" * 64]  # the current secret first, then rotated-out ones
SHOP = "shop-b.myshopify.com"
OTHER = "shop-a.myshopify.com"
PATCH = "/app/auth/patch-id-token"


def token(shop: str = SHOP, *, secret: str = SECRETS[0], algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": API_KEY,
        "sub": "7",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
        "jti": "j",
        "sid": "s",
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm=algorithm)


@pytest.fixture
async def app() -> AsyncIterator[httpx.AsyncClient]:
    async def installed(_: str) -> str:
        return INSTALLED

    async with httpx.AsyncClient() as http:
        tokens = SessionTokens(API_KEY, [s.encode() for s in SECRETS], http)
        auth = SessionAuth(tokens, installed, installer=None, patch_path=PATCH)  # type: ignore[arg-type]

        async def api(request: Request) -> Response:
            try:
                session = await auth.api(request)
            except Refused as exc:
                return refusal(exc)
            return JSONResponse({"shop": session.shop})

        async def page(request: Request) -> Response:
            try:
                answer = await auth.page(request)
            except Refused as exc:
                return PlainTextResponse(f"open the app from the Shopify admin ({exc.reason})", 401)
            if isinstance(answer, Response):
                return answer
            return PlainTextResponse(answer.shop, headers=answer.page_headers)

        routes = [Route("/app/api/me", api, methods=["GET", "PUT"]), Route("/app", page)]
        transport = httpx.ASGITransport(app=Starlette(routes=routes))
        async with httpx.AsyncClient(transport=transport, base_url="https://storepulse.test") as client:
            yield client


async def call(app: httpx.AsyncClient, session_token: str, **params: str) -> httpx.Response:
    return await app.get("/app/api/me", params=params, headers={"Authorization": f"Bearer {session_token}"})


async def test_a_valid_token_names_its_shop_and_nothing_else_does(app: httpx.AsyncClient) -> None:
    answer = await call(app, token(), shop=OTHER)
    assert (answer.status_code, answer.json()) == (200, {"shop": SHOP})
    body = await app.put("/app/api/me", json={"shop": OTHER}, headers={"Authorization": f"Bearer {token()}"})
    assert body.json() == {"shop": SHOP}


async def test_every_rotated_secret_is_accepted(app: httpx.AsyncClient) -> None:
    for secret in SECRETS:
        assert (await call(app, token(secret=secret))).json() == {"shop": SHOP}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (lambda: token(exp=int(time.time()) - 11), "expired"),
        (lambda: token(nbf=int(time.time()) + 11), "not yet valid"),
        (lambda: token(aud="another-app"), "another app"),
        (lambda: token(secret="not-our-secret-" * 3), "signature"),
        (lambda: token(algorithm="none", secret=None), "algorithm"),
        (lambda: token(algorithm="HS512"), "algorithm"),
        (lambda: token(dest=f"https://{OTHER}"), "names no shop"),  # iss says one shop, dest another
        (
            lambda: token(dest="https://evil.example.com", iss="https://evil.example.com/admin"),
            "names no shop",
        ),
        (lambda: token(exp=None), "without exp"),
        (lambda: "not.a.jwt", "invalid session token"),
    ],
)
async def test_bad_tokens_get_401_with_the_reason(app: httpx.AsyncClient, bad, reason: str) -> None:
    answer = await call(app, bad())
    assert answer.status_code == 401
    assert reason in answer.json()["error"]
    assert answer.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


async def test_clocks_may_differ_by_up_to_ten_seconds(app: httpx.AsyncClient) -> None:
    now = int(time.time())
    assert (await call(app, token(exp=now - 5))).status_code == 200
    assert (await call(app, token(nbf=now + 5))).status_code == 200


async def test_an_api_call_needs_the_bearer_header(app: httpx.AsyncClient) -> None:
    answer = await app.get("/app/api/me", params={"id_token": token()})
    assert answer.status_code == 401 and "Authorization: Bearer" in answer.json()["error"]


async def test_a_page_load_carries_the_token_in_the_query(app: httpx.AsyncClient) -> None:
    page = await app.get("/app", params={"id_token": token()})
    assert page.status_code == 200 and page.text == SHOP
    # Shopify's headers for an embedded document: only the shop's admin may frame it.
    assert (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com" in page.headers["content-security-policy"]
    )


async def test_a_page_without_a_valid_token_says_where_to_open_it(app: httpx.AsyncClient) -> None:
    for params in ({}, {"id_token": token(exp=int(time.time()) - 60)}):
        page = await app.get("/app", params=params)
        assert page.status_code == 401 and "open the app from the Shopify admin" in page.text


async def test_an_embedded_page_with_a_stale_token_goes_for_a_fresh_one(app: httpx.AsyncClient) -> None:
    stale = {"embedded": "1", "shop": SHOP, "host": "abc", "id_token": token(exp=int(time.time()) - 60)}
    page = await app.get("/app", params=stale)
    assert page.status_code == 302
    location = httpx.URL(page.headers["location"])
    assert location.path == PATCH and "id_token" not in location.params
    assert location.params["shopify-reload"].startswith("/app?")


def test_the_dev_token_is_a_session_token_for_the_demo_shop() -> None:
    minted = dev_session_token(SHOP, API_KEY, SECRETS[0])
    claims = jwt.decode(minted, SECRETS[0], algorithms=["HS256"], audience=API_KEY)
    assert claims["dest"] == f"https://{SHOP}" and claims["iss"] == f"https://{SHOP}/admin"
    assert 12 * 3600 - 5 <= claims["exp"] - time.time() <= 12 * 3600
