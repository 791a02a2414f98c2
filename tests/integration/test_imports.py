"""Importing VIP status from another loyalty app through the app's API, against the real worker
(which applies each imported tier as a floor), broker and Redis; Shopify is the fake, which
resolves emails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import Stack
from storepulse.kafka_topics import TOPIC_CUSTOMER_CHANGES, item_key
from storepulse.shops import ShopRegistry
from tests.fake_shopify import FakeShopify, customers, running_fake_shopify
from tests.fake_shopify.customers import add_customer
from tests.fake_shopify.server import OWNER
from tests.fake_shopify.webhooks import register
from tests.support.eventually import eventually
from tests.support.kafka import consume
from tests.support.merchant_app import StaffMember
from tests.support.stack import new_shop_domain
from tests.support.webhooks import deliver

TIERS = [
    {"name": "VIP", "tag": "VIP", "min_orders": 3, "min_spent": "0"},
    {"name": "Gold", "tag": "Gold", "min_orders": 10, "min_spent": "0"},
]
NEXT_YEAR = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
# A search slow enough that an import of emails is still running when it is cancelled.
SLOW_SEARCH_S = 0.2


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShopify]:
    granted = FakeShopify(scope="read_orders,read_customers,write_customers")
    with running_fake_shopify(register(customers.install(granted))) as fake:
        yield fake


class Shop:
    """A shop with two tiers and customers StorePulse has seen (one order each)."""

    def __init__(self, owner: StaffMember, redis_client: redis.Redis) -> None:
        self.owner, self.redis = owner, redis_client

    async def customer(self, email: str | None = None) -> str:
        customer_id = next_id()
        add_customer(self.owner.fake, self.owner.shop, customer_id, email=email)
        o = order(customer_id=customer_id, product=CATALOG[0])
        await deliver(self.owner.app, webhook(ORDERS_CREATE, self.owner.shop, o))

        async def known() -> bool:
            return bool(await self.redis.hexists(redis_keys.customers(self.owner.shop), str(customer_id)))

        await eventually(known, timeout=20)
        return str(customer_id)

    async def run(self, text: str | bytes, **fields: str) -> dict[str, Any]:
        """An import of `text` once it has finished."""
        started = await self.start(text, **fields)
        assert started.status_code == 202, started.text
        return await self.finished(started.json()["id"])

    async def start(self, text: str | bytes, **fields: str) -> httpx.Response:
        data = text.encode() if isinstance(text, str) else text
        files = {"file": ("members.csv", data, "text/csv")}
        return await self.owner.call("POST", "imports", files=files, data={"source": "Smile", **fields})

    async def finished(self, import_id: str) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            record = await self.owner.json(f"imports/{import_id}")
            return record if record["status"] not in ("pending", "processing") else None

        return await eventually(done, timeout=30)

    async def customer_view(self, customer_id: str, **expected: Any) -> dict[str, Any]:
        """The customer as the app shows them, once they are as `expected`."""

        async def shown() -> dict[str, Any] | None:
            view = await self.owner.json(f"customers/{customer_id}")
            return view if all(view.get(k) == v for k, v in expected.items()) else None

        return await eventually(shown, timeout=20)


@pytest.fixture
async def shop(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry, redis_client: redis.Redis
) -> Shop:
    domain = new_shop_domain()
    fake.tokens[domain] = f"shpat_{domain.split('.')[0]}"
    await registry.install(domain, fake.tokens[domain], "read_orders,read_customers,write_customers")
    owner = StaffMember(app, fake, domain, OWNER)
    assert (await owner.call("PUT", "settings", json={"tiers": TIERS})).status_code == 200
    return Shop(owner, redis_client)


async def test_good_rows_apply_and_each_bad_row_is_rejected_with_its_reason(shop: Shop, stack: Stack) -> None:
    by_id, by_email, duplicate = (
        await shop.customer(),
        await shop.customer("ana@example.com"),
        await shop.customer(),
    )
    unknown = str(next_id())
    text = (
        "Customer ID,Email,VIP Tier,Expires On\n"
        f"{by_id},,VIP,\n"  # row 2
        f",ANA@example.com,gold,{NEXT_YEAR}\n"  # row 3: by email, any case
        f"{unknown},,VIP,\n"  # row 4
        f"{duplicate},,Platinum,\n"  # row 5
        f"{duplicate},,VIP,31/12/2030\n"  # row 6
        f",nobody@example.com,VIP,\n"  # row 7
        f"{by_id},,Gold,\n"  # row 8: the same customer as row 2
        "oops,too,many,cells,here\n"  # row 9
    )
    record = await shop.run(text)
    assert (record["status"], record["rows_read"], record["rows_applied"], record["rows_rejected"]) == (
        "completed",
        8,
        2,
        6,
    )
    assert record["mapping"] == {
        "customer_id": "Customer ID",
        "email": "Email",
        "tier": "VIP Tier",
        "expires_on": "Expires On",
    }
    assert [(r["row"], r["reason"]) for r in record["rejected"]] == [
        (4, "unknown customer"),
        (5, "unknown tier"),
        (6, "bad date"),
        (7, "unknown customer"),
        (8, "duplicate row"),
        (9, "unreadable line"),
    ]
    assert "ana@example.com" not in str(record) and "nobody@example.com" not in str(record)  # never stored
    # The imported tiers hold the customers up, and the write-back tags them in Shopify.
    vip = await shop.customer_view(by_id, tier="VIP")
    assert vip["tier_floor"]["tier"] == "VIP" and vip["tier_floor"]["until"] is None
    gold = await shop.customer_view(by_email, tier="Gold")
    assert gold["tier_floor"]["until"] == NEXT_YEAR
    # As any tier change, each goes to the write-back, which tags the customer in Shopify.
    changes = await consume(stack, TOPIC_CUSTOMER_CHANGES, key_prefix=item_key(shop.owner.shop, ""), count=2)
    assert sorted((c["customer_id"], c["tags_add"]) for c in changes) == sorted(
        [(by_id, ["VIP"]), (by_email, ["Gold"])]
    )

    again = await shop.run(text)  # the same file again changes nothing more
    assert (again["rows_applied"], again["rows_unchanged"], again["rows_rejected"]) == (0, 2, 6)
    listed = (await shop.owner.json("imports"))["imports"]
    assert [i["id"] for i in listed] == [again["id"], record["id"]]
    export = await shop.owner.call("GET", f"imports/{record['id']}/rejected.csv")
    assert export.text.splitlines()[0] == "row,reason,detail" and len(export.text.splitlines()) == 7


async def test_a_dry_run_reports_what_would_change_and_writes_nothing(shop: Shop) -> None:
    dry, later = await shop.customer(), await shop.customer()
    record = await shop.run(f"customer_id,tier\n{dry},VIP\n", dry_run="1")
    assert (record["status"], record["dry_run"], record["rows_applied"]) == ("completed", True, 1)
    await shop.run(f"customer_id,tier\n{later},VIP\n")
    await shop.customer_view(later, tier="VIP")  # the later import is applied: the dry run would be too
    view = await shop.owner.json(f"customers/{dry}")
    assert view["tier"] is None and view["tier_floor"] is None


async def test_a_file_that_cannot_be_read_fails_clearly_and_changes_nothing(shop: Shop) -> None:
    customer = await shop.customer()
    latin1 = f"customer_id,tier,note\n{customer},VIP,Müller\n".encode("latin-1")
    refused = await shop.start(latin1)
    assert refused.status_code == 422 and "not UTF-8" in refused.json()["error"]
    headless = await shop.start(f"{customer},VIP\n")
    assert headless.status_code == 422 and "no recognisable header" in headless.json()["error"]
    mapped = await shop.run(
        f"Member,Level\n{customer},VIP\n", **{"map.customer_id": "Member", "map.tier": "Level"}
    )
    assert mapped["rows_applied"] == 1  # a column mapping makes the same columns readable
    failed = [i for i in (await shop.owner.json("imports"))["imports"] if i["status"] == "failed"]
    assert len(failed) == 2 and all(i["rows_read"] == 0 for i in failed)
    await shop.customer_view(customer, tier="VIP")


async def test_an_import_can_be_cancelled(shop: Shop, fake: FakeShopify) -> None:
    search = fake.resolvers["customers"]

    def slow(*args: Any) -> Any:
        time.sleep(SLOW_SEARCH_S)
        return search(*args)

    fake.resolvers["customers"] = slow
    try:
        rows = "".join(f"someone{i}@example.com,VIP\n" for i in range(100))
        started = await shop.start("email,tier\n" + rows)
        import_id = started.json()["id"]
        cancelled = await shop.owner.call("POST", f"imports/{import_id}/cancel")
        assert cancelled.status_code == 200
        record = await shop.finished(import_id)
    finally:
        fake.resolvers["customers"] = search
    assert (record["status"], record["rows_applied"]) == ("cancelled", 0)
    again = await shop.owner.call("POST", f"imports/{import_id}/cancel")
    assert again.status_code == 409
    log = (await shop.owner.json("audit", limit=2))["entries"]
    assert [e["action"] for e in log] == ["import.cancelled", "import.started"]


async def test_a_tier_set_by_hand_holds_until_removed(shop: Shop) -> None:
    customer = await shop.customer()
    bad = await shop.owner.call("PUT", f"customers/{customer}/tier-floor", json={"tier": "Diamond"})
    assert bad.status_code == 422 and "tier" in bad.json()["errors"]
    unknown = await shop.owner.call("PUT", f"customers/{next_id()}/tier-floor", json={"tier": "VIP"})
    assert unknown.status_code == 404
    given = await shop.owner.call(
        "PUT", f"customers/{customer}/tier-floor", json={"tier": "gold", "until": NEXT_YEAR}
    )
    assert given.status_code == 202
    view = await shop.customer_view(customer, tier="Gold")
    assert view["tier_floor"]["source"] == "manual"
    assert (await shop.owner.call("DELETE", f"customers/{customer}/tier-floor")).status_code == 202
    await shop.customer_view(customer, tier=None, tier_floor=None)
    log = (await shop.owner.json("audit", limit=2))["entries"]
    assert [e["action"] for e in log] == ["tier_override.removed", "tier_override.set"]
    assert log[1]["changes"] == [
        {"field": "tier_floor", "before": None, "after": {"tier": "Gold", "until": NEXT_YEAR}}
    ]
