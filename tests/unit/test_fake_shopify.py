"""The fake Shopify itself: auth, the leaky bucket and THROTTLED, as real Shopify answers."""

import httpx

from tests.fake_shopify import FakeShopify, running_fake_shopify

SHOP = "fake.myshopify.com"
QUERY = "mutation { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }"


def _token(fake: FakeShopify) -> str:
    code = fake.issue_code(SHOP)
    answer = httpx.post(
        f"{fake.url}/{SHOP}/admin/oauth/access_token",
        json={"client_id": fake.client_id, "client_secret": fake.client_secret, "code": code},
    )
    assert answer.status_code == 200
    return answer.json()["access_token"]


def test_token_exchange_needs_the_right_secret_and_a_fresh_code() -> None:
    with running_fake_shopify() as fake:
        code = fake.issue_code(SHOP)
        bad = httpx.post(
            f"{fake.url}/{SHOP}/admin/oauth/access_token",
            json={"client_id": fake.client_id, "client_secret": "nope", "code": code},
        )
        assert bad.status_code == 400
        assert _token(fake).startswith("shpat_")


def test_graphql_needs_the_token_and_throttles_past_the_bucket() -> None:
    fake = FakeShopify(max_points=25, restore_rate=1)
    fake.resolvers["tagsAdd"] = lambda f, shop, args: {"userErrors": [], "tags": args["tags"]}
    with running_fake_shopify(fake):
        url = f"{fake.url}/{SHOP}/admin/api/2026-10/graphql.json"
        body = {"query": QUERY, "variables": {"id": "gid://shopify/Customer/1", "tags": ["VIP"]}}
        assert httpx.post(url, json=body).status_code == 401
        headers = {"X-Shopify-Access-Token": _token(fake)}
        answers = [httpx.post(url, json=body, headers=headers).json() for _ in range(3)]
    assert answers[0]["data"]["tagsAdd"]["tags"] == ["VIP"]
    assert answers[0]["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 25
    assert answers[2]["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert len(fake.calls_to("tagsAdd")) == 2


def _exchange(fake: FakeShopify, session_token: str, secret: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{fake.url}/{SHOP}/admin/oauth/access_token",
        json={
            "client_id": fake.client_id,
            "client_secret": fake.client_secret if secret is None else secret,
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": session_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": 0,
        },
    )


def test_token_exchange_needs_the_app_secret_and_a_session_token_it_signed_for_the_app() -> None:
    # Secrets as long as Shopify's: PyJWT warns about shorter HMAC keys.
    with running_fake_shopify(FakeShopify(client_secret="s" * 32)) as fake:
        assert _exchange(fake, fake.session_token(SHOP), secret="nope").json()["error"] == "invalid_client"
        refused = [
            fake.session_token(SHOP, secret="x" * 32),
            fake.session_token(SHOP, audience="another-app"),
            fake.session_token("other.myshopify.com"),
            fake.session_token(SHOP, ttl_s=-60),
        ]
        for token in refused:
            answer = _exchange(fake, token)
            assert (answer.status_code, answer.json()["error"]) == (400, "invalid_subject_token")
        granted = _exchange(fake, fake.session_token(SHOP))
        assert granted.status_code == 200
        assert granted.json()["access_token"] == fake.tokens[SHOP]
