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


def signed(params: dict[str, str], *, age_s: float = 0) -> dict[str, str]:
    """`params` with a `timestamp` `age_s` old, signed as Shopify signs the install flow's requests."""
    stamped = {**params, "timestamp": str(int(time.time() - age_s))}
    return {**stamped, "hmac": sign_query(stamped.items(), SECRET)}


async def start_install(ingest: httpx.AsyncClient, fake: FakeShopify, shop: str) -> dict[str, str]:
    """What Shopify puts on the callback after the merchant approved: signed query params."""
    answer = await ingest.get("/auth/install", params=signed({"shop": shop}))
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{fake.url}/{shop}/admin/oauth/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == fake.client_id
    assert query["redirect_uri"] == f"{PUBLIC}/auth/callback"
    assert "read_orders" in query["scope"].split(",")
    return signed({"code": fake.issue_code(shop), "shop": shop, "state": query["state"]})


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


async def test_a_deployed_app_installs_without_subscribing_what_its_configuration_delivers(
    stack: Stack, fake: FakeShopify, registry: ShopRegistry
) -> None:
    settings = ingest_settings(
        stack,
        SHOPIFY_API_KEY=fake.client_id,
        SHOPIFY_ADMIN_BASE_URL=fake.base_url_template(),
        public_url=PUBLIC,
        webhooks_from_config=True,
    )
    shop = new_shop_domain()
    async with in_process_ingest(settings) as client:
        callback = await client.get("/auth/callback", params=await start_install(client, fake, shop))
        assert callback.status_code == 302
        assert (await registry.get(shop)).installed
        # shopify.app.toml's subscriptions deliver to every shop: one per shop as well would double them.
        assert subscriptions(fake, shop) == []
        await deliver(client, webhook(ORDERS_CREATE, shop, order()))  # taken: installed


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
    assert (await ingest.get("/auth/install", params=signed({"shop": "evil.example.com"}))).status_code == 400
    assert other not in fake.tokens
    stale = {**(await start_install(ingest, fake, shop))}
    stale = signed({k: v for k, v in stale.items() if k not in ("hmac", "timestamp")}, age_s=3600)
    assert (await ingest.get("/auth/callback", params=stale)).status_code == 401


async def oauth_states(client: redis.Redis) -> int:
    return len([k async for k in client.scan_iter(match=redis_keys.oauth_state("*"))])


async def test_install_takes_only_fresh_requests_signed_by_shopify_and_writes_nothing_else(
    ingest: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    shop = new_shop_domain()
    good = signed({"shop": shop})

    def signed_as_is(params: dict[str, str]) -> dict[str, str]:
        return {**params, "hmac": sign_query(params.items(), SECRET)}

    bad_signature = {
        "unsigned": {"shop": shop},
        "forged": {**good, "hmac": sign_query([("shop", shop), ("timestamp", good["timestamp"])], b"x")},
    }
    stale = {
        "an hour old": signed({"shop": shop}, age_s=3600),
        "from the future": signed({"shop": shop}, age_s=-3600),
        "no timestamp": signed_as_is({"shop": shop}),
        "timestamp not a number": signed_as_is({"shop": shop, "timestamp": "+1e9"}),
    }
    before = await oauth_states(redis_client)
    for reason, cases in (("invalid hmac", bad_signature), ("stale or missing timestamp", stale)):
        for case, params in cases.items():
            answer = await ingest.get("/auth/install", params=params)
            assert (answer.status_code, answer.json()["error"]) == (401, reason), case
    assert await oauth_states(redis_client) == before
    assert (await ingest.get("/auth/install", params=good)).status_code == 302
    assert await oauth_states(redis_client) == before + 1


async def test_install_requests_are_limited_per_client(stack: Stack, fake: FakeShopify) -> None:
    settings = ingest_settings(stack, SHOPIFY_API_KEY=fake.client_id, install_rate_per_ip="3/minute")
    async with in_process_ingest(settings) as ingest:
        answers = [
            await ingest.get("/auth/install", params=signed({"shop": new_shop_domain()})) for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [302, 302, 302, 429]
    assert answers[-1].headers["retry-after"] == "60"


@pytest.mark.parametrize(
    "answer", [b"<html>maintenance</html>", b"[]", b'{"scope": "read_orders"}', b'{"access_token": null}']
)
async def test_an_unexpected_token_exchange_answer_is_a_502_that_says_so(
    ingest: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry, answer: bytes
) -> None:
    shop = new_shop_domain()
    fake.odd_grants.append(answer)
    callback = await ingest.get("/auth/callback", params=await start_install(ingest, fake, shop))
    assert callback.status_code == 502
    assert "token exchange" in callback.json()["error"]
    assert await registry.get(shop) is None
