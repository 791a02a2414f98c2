"""An embedded app's session tokens against the fake Shopify: checked, then exchanged for an
offline access token that Admin GraphQL accepts."""

from collections.abc import AsyncIterator, Iterator
from secrets import token_hex

import httpx
import pytest
from shopify_app import IdTokenDetails, ResultWithExchangeableIdToken

from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from shopify.oauth import OAuthError, SessionTokens
from tests.fake_shopify import FakeShopify, running_fake_shopify
from tests.fake_shopify.customers import add_customer, install, tags_of

SHOP = "embedded.myshopify.com"
APP_URL = "https://app.storepulse.test/settings"
PATCH_PATH = "/auth/patch-id-token"
TAG = "mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }"


def new_secret() -> str:
    return token_hex(16)  # as long as Shopify's (PyJWT warns below 32 bytes)


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with running_fake_shopify(install(FakeShopify(client_secret=new_secret()))) as fake:
        yield fake


@pytest.fixture
async def http(fake: FakeShopify) -> AsyncIterator[httpx.AsyncClient]:
    async with shopify_http(fake.base_url_template(), timeout=10.0) as http:
        yield http


def fetch(tokens: SessionTokens, session_token: str) -> ResultWithExchangeableIdToken:
    """What App Bridge's fetch from the embedded app carries: the token as a bearer."""
    return tokens.verify("GET", APP_URL, {"Authorization": f"Bearer {session_token}"}, PATCH_PATH)


async def test_a_session_token_is_exchanged_for_an_offline_token_that_admin_graphql_accepts(
    fake: FakeShopify, http: httpx.AsyncClient
) -> None:
    tokens = SessionTokens(fake.client_id, [fake.client_secret.encode()], http)
    verified = fetch(tokens, fake.session_token(SHOP))
    assert verified.ok and verified.shop == "embedded"
    assert verified.id_token is not None and verified.id_token.claims["dest"] == f"https://{SHOP}"

    grant = await tokens.exchange(verified.id_token)
    assert (grant.shop, grant.access_token) == (SHOP, fake.tokens[SHOP])

    async def token_for(_: str) -> str:
        return grant.access_token

    add_customer(fake, SHOP, 1)
    api = AdminApi(http, token_for, api_version="2026-10")
    await api.query(SHOP, TAG, {"id": "gid://shopify/Customer/1", "tags": ["VIP"]})
    assert tags_of(fake, SHOP, 1) == ["VIP"]


async def test_tokens_signed_with_any_rotated_secret_are_accepted(
    fake: FakeShopify, http: httpx.AsyncClient
) -> None:
    rotation = [fake.client_secret.encode(), new_secret().encode(), new_secret().encode()]
    tokens = SessionTokens(fake.client_id, rotation, http)
    for secret in rotation:
        assert fetch(tokens, fake.session_token(SHOP, secret=secret.decode())).ok
    assert not fetch(tokens, fake.session_token(SHOP, secret=new_secret())).ok


async def test_foreign_expired_or_missing_tokens_are_refused_as_shopify_app_bridge_expects(
    fake: FakeShopify, http: httpx.AsyncClient
) -> None:
    tokens = SessionTokens(fake.client_id, [fake.client_secret.encode()], http)
    for refused in (
        fake.session_token(SHOP, audience="another-app"),
        fake.session_token(SHOP, ttl_s=-60),
        "not-a-jwt",
    ):
        result = fetch(tokens, refused)
        assert not result.ok and result.id_token is None
        assert result.response.status == 401
        # App Bridge fetches a fresh token and retries when it sees this header.
        assert result.response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    document = tokens.verify("GET", APP_URL, {}, PATCH_PATH)  # a page load without ?id_token=
    assert document.response.status == 302
    assert document.response.headers["Location"].startswith(f"https://app.storepulse.test{PATCH_PATH}?")


async def test_shopify_refuses_an_exchange_with_a_wrong_secret_or_a_forged_token(
    fake: FakeShopify, http: httpx.AsyncClient
) -> None:
    claims = {"dest": f"https://{SHOP}", "aud": fake.client_id}
    wrong_app_secret = SessionTokens(fake.client_id, [new_secret().encode()], http)
    with pytest.raises(OAuthError, match="invalid_client"):
        await wrong_app_secret.exchange(IdTokenDetails(True, fake.session_token(SHOP), claims))
    tokens = SessionTokens(fake.client_id, [fake.client_secret.encode()], http)
    forged = IdTokenDetails(True, fake.session_token(SHOP, secret=new_secret()), claims)
    with pytest.raises(OAuthError, match="invalid_subject_token"):
        await tokens.exchange(forged)
    assert SHOP not in fake.tokens
