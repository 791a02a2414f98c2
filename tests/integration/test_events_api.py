"""The events API: keys made in the merchant app, POST /api/events on ingest, reviews on the
storefront's stream (the real worker, broker and Redis; Shopify is the fake)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from loadtests.payloads import next_id, shop_redact, webhook
from shopify.topics import SHOP_REDACT
from storepulse import redis_keys
from storepulse.devstack import Stack
from storepulse.event_keys import digest_of
from tests.fake_shopify import FakeShopify
from tests.support.eventually import eventually
from tests.support.ingest import in_process_ingest
from tests.support.merchant_app import app_settings
from tests.support.sse import listening
from tests.support.stack import Services, install_shop, new_shop_domain
from tests.support.webhooks import deliver

Json = dict[str, Any]


def review(text: str = "Softest thing I own", rating: int = 5, **fields: Any) -> Json:
    return {
        "kind": "review",
        "idempotency_key": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "product_id": str(next_id()),
        "title": "Cloud Hoodie",
        "rating": rating,
        "author": "Ola N.",
        "message": text,
        **fields,
    }


class Merchant:
    def __init__(self, app: httpx.AsyncClient, fake: FakeShopify, shop: str) -> None:
        self.app, self.fake, self.shop = app, fake, shop

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.fake.session_token(self.shop)}"}
        return await self.app.request(method, f"/app/api/{path}", headers=auth, **kwargs)

    async def new_key(self, name: str = "Reviews app") -> Json:
        made = await self.call("POST", "event-keys", json={"name": name})
        assert made.status_code == 201, made.text
        return made.json()


async def post(app: httpx.AsyncClient, key: str | None, body: Json | bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, bytes):
        return await app.post("/api/events", content=body, headers=headers)
    return await app.post("/api/events", json=body, headers=headers)


async def other_shop(stack: Stack) -> str:
    domain = new_shop_domain()
    await install_shop(stack, domain)
    return domain


async def test_a_review_posted_with_a_key_made_in_the_app_appears_once_however_often_it_is_posted(
    services: Services, app: httpx.AsyncClient, fake: FakeShopify, shop: str
) -> None:
    merchant = Merchant(app, fake, shop)
    made = await merchant.new_key()
    listed = (await merchant.call("GET", "event-keys")).json()["keys"]
    assert [k["name"] for k in listed] == ["Reviews app"]
    assert made["key"] not in str(listed) and "digest" not in str(listed)

    first = review()
    long_text = "Warm and soft. " * 20
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        for _ in range(3):  # a review app retrying, and posting it again later
            assert (await post(app, made["key"], first)).status_code == 202
        assert (await post(app, made["key"], review(rating=3))).status_code == 202  # under the minimum
        # The last on the shop's partition: once it is shown, every event before it was processed.
        assert (await post(app, made["key"], review(long_text, rating=4, author=None))).status_code == 202
        shown = await sse.wait_for_kind("review", 2, timeout=30)
    assert shown[0]["message"] == "★★★★★ Ola N. on Cloud Hoodie: “Softest thing I own”"
    assert shown[0]["messages"]["en"]["title"] == "New review"
    assert shown[0]["product"]["id"] == first["product_id"]
    excerpt = shown[1]["message"].split("“", 1)[1].removesuffix("”")
    assert shown[1]["message"].startswith("★★★★ Someone on Cloud Hoodie: “Warm and soft.")
    assert len(excerpt) <= 120 and excerpt.endswith("…")
    assert len(sse.of_kind("review")) == 2


async def test_bad_keys_bad_bodies_and_big_bodies_are_refused_and_a_key_writes_only_its_shop(
    services: Services, app: httpx.AsyncClient, fake: FakeShopify, shop: str
) -> None:
    merchant = Merchant(app, fake, shop)
    other = Merchant(app, fake, await other_shop(services.stack))
    key = (await merchant.new_key())["key"]
    other_key = (await other.new_key())["key"]

    assert (await post(app, None, review())).status_code == 401
    assert (await post(app, "spk_made-up", review())).status_code == 401
    bad = await post(app, key, review(rating=9))
    assert bad.status_code == 422 and "rating" in bad.json()["error"]
    assert "occurred_at" in (await post(app, key, {**review(), "occurred_at": "soon"})).json()["error"]
    named_shop = await post(app, key, review(shop=other.shop))
    assert named_shop.status_code == 422 and "shop" in named_shop.json()["error"]
    assert (await post(app, key, b"{not json")).status_code == 422
    assert (await post(app, key, review("x" * 5000))).status_code == 413

    async with (
        listening(f"{services.push_url}/sse/{shop}") as mine,
        listening(f"{services.push_url}/sse/{other.shop}") as theirs,
    ):
        assert (await post(app, key, review("Mine"))).status_code == 202
        await mine.wait_for_kind("review", 1, timeout=30)
        assert (await post(app, other_key, review("Theirs"))).status_code == 202
        await theirs.wait_for_kind("review", 1, timeout=30)
    assert [n["message"] for n in theirs.of_kind("review")] == ["★★★★★ Ola N. on Cloud Hoodie: “Theirs”"]
    assert [n["message"] for n in mine.of_kind("review")] == ["★★★★★ Ola N. on Cloud Hoodie: “Mine”"]


async def test_a_rotated_or_revoked_key_is_refused_and_another_shop_cannot_revoke_it(
    services: Services, app: httpx.AsyncClient, fake: FakeShopify, shop: str
) -> None:
    merchant = Merchant(app, fake, shop)
    other = Merchant(app, fake, await other_shop(services.stack))
    made = await merchant.new_key()
    assert (await other.call("DELETE", f"event-keys/{made['id']}")).status_code == 404
    assert (await post(app, made["key"], review())).status_code == 202

    rotated = await merchant.call("POST", f"event-keys/{made['id']}/rotate")
    assert rotated.status_code == 200 and rotated.json()["key"] != made["key"]
    assert (await post(app, made["key"], review())).status_code == 401
    assert (await post(app, rotated.json()["key"], review())).status_code == 202

    assert (await merchant.call("DELETE", f"event-keys/{made['id']}")).status_code == 200
    assert (await post(app, rotated.json()["key"], review())).status_code == 401
    assert (await merchant.call("GET", "event-keys")).json()["keys"] == []


@pytest.mark.parametrize("limit", ["3/minute"])
async def test_the_rate_limit_of_a_key_holds_across_ingest_processes(
    services: Services, fake: FakeShopify, shop: str, limit: str
) -> None:
    settings = app_settings(services, fake, events_rate_per_key=limit)
    async with in_process_ingest(settings) as one, in_process_ingest(settings) as two:
        key = (await Merchant(one, fake, shop).new_key())["key"]
        answers = [(await post(app, key, review())).status_code for app in (one, two, one, two)]
    assert answers == [202, 202, 202, 429]


async def test_shop_redact_forgets_the_shops_keys_and_the_digests_that_name_it(
    services: Services, app: httpx.AsyncClient, fake: FakeShopify, shop: str
) -> None:
    merchant = Merchant(app, fake, shop)
    made = await merchant.new_key()
    assert (await post(app, made["key"], review())).status_code == 202
    client = redis.Redis.from_url(services.stack.env["REDIS_URL"])
    try:
        owner = redis_keys.event_key_owner(digest_of(made["key"]))
        assert await client.get(owner) == f"{shop} {made['id']}".encode()
        await deliver(app, webhook(SHOP_REDACT, shop, shop_redact(shop)))

        async def forgotten() -> bool:
            return await client.exists(owner, redis_keys.event_keys(shop)) == 0

        await eventually(forgotten, what="the shop's events-API keys forgotten")
    finally:
        await client.aclose()
    assert (await post(app, made["key"], review())).status_code == 401
