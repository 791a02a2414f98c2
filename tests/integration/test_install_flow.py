"""The app install flow against the fake Shopify: OAuth, token storage, webhook subscriptions."""

import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis.asyncio as redis

from ingest.routing import SUBSCRIBED_TOPICS
from loadtests.payloads import order, webhook
from shopify.signature import sign_query
from shopify.subscriptions import topic_enum
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import Stack
from storepulse.shops import ShopRegistry
from tests.fake_shopify import FakeShopify, customers, running_fake_shopify
from tests.fake_shopify.customers import add_order
from tests.fake_shopify.webhooks import register, subscriptions
from tests.support.eventually import eventually
from tests.support.ingest import in_process_ingest, ingest_settings
from tests.support.stack import SECRET, new_shop_domain
from tests.support.webhooks import deliver

PUBLIC = "https://ingest.storepulse.test"


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with running_fake_shopify(register(customers.install(FakeShopify()))) as fake:
        yield fake


@pytest.fixture
async def ingest(stack: Stack, fake: FakeShopify) -> AsyncIterator[httpx.AsyncClient]:
    settings = ingest_settings(
        stack,
        SHOPIFY_API_KEY=fake.client_id,
        SHOPIFY_ADMIN_BASE_URL=fake.base_url_template(),
        public_url=PUBLIC,
    )
    async with in_process_ingest(settings) as client:
        yield client


async def start_install(ingest: httpx.AsyncClient, fake: FakeShopify, shop: str) -> dict[str, str]:
    """What Shopify puts on the callback after the merchant approved: signed query params."""
    answer = await ingest.get("/auth/install", params={"shop": shop})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{fake.url}/{shop}/admin/oauth/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == fake.client_id
    assert query["redirect_uri"] == f"{PUBLIC}/auth/callback"
    assert "read_orders" in query["scope"].split(",")
    params = {
        "code": fake.issue_code(shop),
        "shop": shop,
        "state": query["state"],
        "timestamp": str(int(time.time())),
    }
    return {**params, "hmac": sign_query(params.items(), SECRET)}


def backfilled_order() -> dict:
    return {
        "id": "gid://shopify/Order/1",
        "createdAt": "2026-01-02T03:04:05Z",
        "updatedAt": "2026-01-02T03:04:05Z",
        "cancelledAt": None,
        "customer": {"id": "gid://shopify/Customer/2"},
        "totalPriceSet": {"shopMoney": {"amount": "12.00", "currencyCode": "EUR"}},
        "refunds": [],
    }


async def test_install_stores_the_token_and_subscribes_every_topic(
    ingest: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry, redis_client: redis.Redis
) -> None:
    shop = new_shop_domain()
    hook = webhook(ORDERS_CREATE, shop, order())
    await deliver(ingest, hook)  # not installed yet: dropped (and remembered a while)
    add_order(fake, shop, backfilled_order())

    callback = await ingest.get("/auth/callback", params=await start_install(ingest, fake, shop))
    assert callback.status_code == 302
    assert callback.headers["location"] == f"{fake.url}/{shop}/admin/apps/{fake.client_id}"

    assert (await registry.get(shop)).installed
    assert await registry.access_token(shop) == fake.tokens[shop]
    held = subscriptions(fake, shop)
    assert sorted(s["topic"] for s in held) == sorted(topic_enum(t) for t in SUBSCRIBED_TOPICS)
    assert {s["uri"] for s in held} == {f"{PUBLIC}/webhooks/shopify"}
    assert {s["format"] for s in held} == {"JSON"}

    # A new install imports the shop's existing orders in the background.
    async def backfill_finished() -> dict[bytes, bytes] | None:
        run = await redis_client.hgetall(redis_keys.backfill_run(shop))
        return run if run.get(b"finished_at") else None

    run = await eventually(backfill_finished)
    assert (run[b"state"], run[b"done"], run[b"total"]) == (b"done", b"1", b"1")

    # Installed now: the same process takes the shop's webhooks at once.
    before = len(fake.calls)
    await deliver(ingest, webhook(ORDERS_CREATE, shop, order()))
    assert len(fake.calls) == before

    # Reinstalling (a new token) keeps the subscriptions Shopify already holds.
    again = await ingest.get("/auth/callback", params=await start_install(ingest, fake, shop))
    assert again.status_code == 302
    assert len(subscriptions(fake, shop)) == len(SUBSCRIBED_TOPICS)


async def test_forged_replayed_or_foreign_callbacks_are_refused(
    ingest: httpx.AsyncClient, fake: FakeShopify
) -> None:
    shop = new_shop_domain()
    params = await start_install(ingest, fake, shop)
    forged = {**params, "hmac": sign_query(params.items(), b"not-the-secret")}
    assert (await ingest.get("/auth/callback", params=forged)).status_code == 401
    unsigned = {k: v for k, v in params.items() if k != "hmac"}
    assert (await ingest.get("/auth/callback", params=unsigned)).status_code == 401
    assert (await ingest.get("/auth/callback", params=params)).status_code == 302
    assert (await ingest.get("/auth/callback", params=params)).status_code == 403  # state used up

    other = new_shop_domain()  # a state issued for one shop, presented for another
    stolen = {**(await start_install(ingest, fake, shop)), "shop": other}
    stolen["hmac"] = sign_query([(k, v) for k, v in stolen.items() if k != "hmac"], SECRET)
    assert (await ingest.get("/auth/callback", params=stolen)).status_code == 403
    assert (await ingest.get("/auth/install", params={"shop": "evil.example.com"})).status_code == 400
    assert other not in fake.tokens
