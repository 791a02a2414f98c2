"""Tag write-back and the cost-paced Admin GraphQL client against the fake Shopify."""

from collections.abc import AsyncIterator

import pytest

from shopify.admin import AdminApi, AdminApiError, Retryable
from shopify.http_client import shopify_http
from storepulse.contracts import ShopSettings
from streams.agents.writeback import TagWriter
from tests.fake_shopify import FakeShopify, running_fake_shopify
from tests.fake_shopify.customers import add_customer, install, tags_of

SHOP = "tags.myshopify.com"
TOKEN = "shpat_fake"


@pytest.fixture
def fake() -> FakeShopify:
    # A bucket of 30 points restoring 20/s: three tag writes in a row already exceed it.
    fake = install(FakeShopify(max_points=30, restore_rate=20))
    with running_fake_shopify(fake):
        fake.tokens[SHOP] = TOKEN
        yield fake


@pytest.fixture
async def api(fake: FakeShopify) -> AsyncIterator[AdminApi]:
    async def token_for(shop: str) -> str | None:
        return TOKEN  # what our registry holds, whatever the fake thinks of it

    async with shopify_http(fake.base_url_template(), timeout=10.0) as http:
        yield AdminApi(http, token_for, api_version="2026-10", max_backoff_s=0.5)


def change(customer_id: int, add: list[str], remove: list[str] = []) -> dict:  # noqa: B006
    return {
        "kind": "tier",
        "shop": SHOP,
        "customer_id": str(customer_id),
        "tags_add": add,
        "tags_remove": remove,
    }


def settings_for(dry_run: bool = False):
    return lambda shop: ShopSettings(shop=shop, writeback_dry_run=dry_run)


async def test_tags_follow_tier_changes_and_keep_other_tags(fake: FakeShopify, api: AdminApi) -> None:
    add_customer(fake, SHOP, 1, tags=["wholesale"])
    writer = TagWriter(api, settings_for(), dry_run=False)
    assert await writer.write(change(1, ["VIP"])) == "written"
    assert await writer.write(change(1, ["VIP"])) == "written"  # a re-delivery: no harm
    assert tags_of(fake, SHOP, 1) == ["wholesale", "VIP"]
    await writer.write(change(1, ["Gold"], ["VIP"]))
    assert tags_of(fake, SHOP, 1) == ["wholesale", "Gold"]


async def test_paces_itself_through_throttling_without_losing_a_write(
    fake: FakeShopify, api: AdminApi
) -> None:
    for c in range(12):
        add_customer(fake, SHOP, c)
    writer = TagWriter(api, settings_for(), dry_run=False)
    for c in range(12):
        await writer.write(change(c, ["VIP"]))
    assert all(tags_of(fake, SHOP, c) == ["VIP"] for c in range(12))
    # It learnt the bucket from throttleStatus and waited: at most the first guess was throttled.
    throttled = [call for call in fake.calls if call.throttled]
    assert len(throttled) <= 2
    assert len(fake.calls_to("tagsAdd")) == 12


async def test_retries_throttled_answers(fake: FakeShopify, api: AdminApi) -> None:
    add_customer(fake, SHOP, 1)
    fake._bucket(SHOP).available = 0  # empty the bucket behind the client's back
    await TagWriter(api, settings_for(), dry_run=False).write(change(1, ["VIP"]))
    assert tags_of(fake, SHOP, 1) == ["VIP"]
    assert any(call.throttled for call in fake.calls)


async def test_retries_5xx_then_gives_up(fake: FakeShopify, api: AdminApi) -> None:
    add_customer(fake, SHOP, 1)
    writer = TagWriter(api, settings_for(), dry_run=False)
    fake.fail_next = 2
    await writer.write(change(1, ["VIP"]))
    assert tags_of(fake, SHOP, 1) == ["VIP"]
    fake.fail_next = 100
    with pytest.raises(Retryable):
        await writer.write(change(1, [], ["VIP"]))


async def test_permanent_failures_are_not_retried(fake: FakeShopify, api: AdminApi) -> None:
    writer = TagWriter(api, settings_for(), dry_run=False)
    with pytest.raises(AdminApiError, match="Customer does not exist"):
        await writer.write(change(404, ["VIP"]))
    fake.tokens[SHOP] = "shpat_rotated"  # ours no longer valid
    with pytest.raises(AdminApiError, match="401"):
        await writer.write(change(1, ["VIP"]))
    assert len(fake.calls) == 1  # the 401 never reached the resolvers, the unknown customer once


async def test_dry_run_per_shop_or_global_writes_nothing(fake: FakeShopify, api: AdminApi) -> None:
    add_customer(fake, SHOP, 1)
    assert (
        await TagWriter(api, settings_for(dry_run=True), dry_run=False).write(change(1, ["VIP"])) == "dry_run"
    )
    assert await TagWriter(api, settings_for(), dry_run=True).write(change(1, ["VIP"])) == "dry_run"
    assert fake.calls == [] and tags_of(fake, SHOP, 1) == []
