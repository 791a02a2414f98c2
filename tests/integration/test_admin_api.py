"""The merchant's app API (/app/api/…) on a session token, against the real worker, broker and
Redis; Shopify is the fake. Customers come from signed webhooks through ingest and the worker."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as redis

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import CUSTOMERS_REDACT, ORDERS_CREATE, REFUNDS_CREATE
from storepulse import redis_keys
from storepulse.shops import ShopRegistry
from tests.fake_shopify import FakeShopify, customers, running_fake_shopify
from tests.fake_shopify.customers import add_customer, add_order, deny_names
from tests.fake_shopify.webhooks import subscriptions
from tests.support.eventually import eventually
from tests.support.ingest import in_process_ingest
from tests.support.merchant_app import PUBLIC, app_settings
from tests.support.stack import Services, new_shop_domain
from tests.support.webhooks import deliver

Json = dict[str, Any]


class Merchant:
    """One shop's merchant using the app: a session token of their own, their orders."""

    def __init__(self, app: httpx.AsyncClient, fake: FakeShopify, shop: str) -> None:
        self.app, self.fake, self.shop = app, fake, shop

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.fake.session_token(self.shop)}"}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.app.get(f"/app/api/{path}", params=params, headers=self.auth)

    async def json(self, path: str, **params: Any) -> Json:
        answer = await self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def buy(self, customer: int, amount: str, *, days_ago: float = 0) -> Json:
        at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
        o = order(customer_id=customer, product=CATALOG[0]) | {
            "total_price": amount,
            "created_at": at,
            "updated_at": at,
        }
        await deliver(self.app, webhook(ORDERS_CREATE, self.shop, o))
        return o

    async def refund(self, o: Json, amount: str) -> None:
        payload = {
            "id": next_id(),
            "order_id": o["id"],
            "transactions": [{"kind": "refund", "status": "success", "amount": amount}],
        }
        await deliver(self.app, webhook(REFUNDS_CREATE, self.shop, payload))

    async def counted(self, orders: int) -> list[Json]:
        """Every customer of the shop, once the worker has counted `orders` orders."""

        async def done() -> list[Json] | None:
            rows = await self.export_rows()
            return rows if sum(r["orders_count"] for r in rows) == orders else None

        return await eventually(done)

    async def settled(self, net_revenue: str) -> Json:
        """The overview once the worker has counted the shop's orders (it asks Shopify nothing)."""

        async def done() -> Json | None:
            overview = await self.json("overview")
            return overview if overview["net_revenue"] == net_revenue else None

        return await eventually(done)

    async def export_rows(self, **params: Any) -> list[Json]:
        answer = await self.get("customers.json", **params)
        assert answer.status_code == 200, answer.text
        return [orjson.loads(line) for line in answer.content.splitlines()]

    async def walk(self, **params: Any) -> list[Json]:
        """Every page of a list walk, concatenated."""
        rows, cursor = [], None
        while True:
            page = await self.json("customers", **params, **({"cursor": cursor} if cursor else {}))
            rows += page["customers"]
            cursor = page["next"]
            if cursor is None:
                return rows


@pytest.fixture
async def merchant(app: httpx.AsyncClient, fake: FakeShopify, shop: str) -> Merchant:
    return Merchant(app, fake, shop)


async def connected_merchant(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry, scopes: str = "read_orders"
) -> Merchant:
    """A new shop installed with an access token the fake Shopify knows, granting `scopes`."""
    shop = new_shop_domain()
    fake.tokens[shop] = f"shpat_{shop.split('.')[0]}"
    await registry.install(shop, fake.tokens[shop], scopes)
    return Merchant(app, fake, shop)


async def shop_with_customers(m: Merchant) -> dict[str, int]:
    """Five customers: a VIP, an at-risk regular, a one-order newcomer, a refund, a lapsed buyer."""
    ids = {name: next_id() for name in ("vip", "regular", "new", "refunded", "lapsed")}
    for _ in range(3):
        await m.buy(ids["vip"], "100.00", days_ago=2)
    for days in (200, 210):
        await m.buy(ids["regular"], "40.00", days_ago=days)
    await m.buy(ids["new"], "15.50")
    refunded = await m.buy(ids["refunded"], "80.00", days_ago=10)
    await m.refund(refunded, "30.00")
    await m.buy(ids["lapsed"], "9.99", days_ago=400)
    await m.counted(8)

    async def refund_counted() -> bool:
        rows = {r["customer_id"]: r for r in await m.export_rows()}
        return rows[str(ids["refunded"])]["net_spent"] == "50.00"

    await eventually(refund_counted)
    return ids


async def test_the_list_sorts_filters_and_pages_exactly(merchant: Merchant) -> None:
    ids = await shop_with_customers(merchant)
    by_id = {v: k for k, v in ids.items()}

    def names(rows: list[Json]) -> list[str]:
        return [by_id[int(r["customer_id"])] for r in rows]

    page = await merchant.json("customers")
    assert page["total"] == 5 and page["next"] is None
    assert names(page["customers"]) == ["vip", "regular", "refunded", "new", "lapsed"]
    vip = page["customers"][0]
    assert vip == {
        "customer_id": str(ids["vip"]),
        "name": None,  # the shop did not grant names
        "orders_count": 3,
        "total_spent": "300.00",
        "net_spent": "300.00",
        "average_order_value": "100.00",
        "currency": "USD",
        "tier": "VIP",
        "potential_tier": None,
        "segment": vip["segment"],
        "last_order_at": vip["last_order_at"],
    }
    refunded = page["customers"][2]
    assert (refunded["total_spent"], refunded["net_spent"]) == ("80.00", "50.00")

    orders_asc = await merchant.json("customers", sort="orders_count", order="asc")
    assert [r["orders_count"] for r in orders_asc["customers"]] == [1, 1, 1, 2, 3]
    ones = [int(r["customer_id"]) for r in orders_asc["customers"][:3]]
    assert ones == sorted(ones)  # ties go by customer id
    recent = await merchant.json("customers", sort="last_order_at", order="desc")
    assert names(recent["customers"]) == ["new", "vip", "refunded", "regular", "lapsed"]
    assert names((await merchant.json("customers", tier="VIP"))["customers"]) == ["vip"]
    assert names((await merchant.json("customers", min_orders=2))["customers"]) == ["vip", "regular"]
    lost = await merchant.json("customers", segment="lost")
    assert "lapsed" in names(lost["customers"]) and lost["total"] == len(lost["customers"])
    today = datetime.now(UTC).date()
    window = {
        "last_order_from": (today - timedelta(days=250)).isoformat(),
        "last_order_to": (today - timedelta(days=5)).isoformat(),
    }
    assert names((await merchant.json("customers", sort="net_spent", **window))["customers"]) == [
        "regular",
        "refunded",
    ]

    # Pages of two: the same rows in the same order, each once.
    walked = await merchant.walk(limit=2)
    assert names(walked) == ["vip", "regular", "refunded", "new", "lapsed"]
    first = await merchant.json("customers", limit=2)
    assert first["total"] == 5 and first["next"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": 251}, "limit"),
        ({"limit": 0}, "limit"),
        ({"sort": "email"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"segment": "whales"}, "segment"),
        ({"min_orders": -1}, "min_orders"),
        ({"last_order_from": "yesterday"}, "last_order_from"),
        ({"last_order_from": "2026-02-01", "last_order_to": "2026-01-01"}, "last_order_to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_parameters_are_refused_naming_them(merchant: Merchant, params: Json, named: str) -> None:
    answer = await merchant.get("customers", **params)
    assert answer.status_code == 422
    assert named in answer.json()["errors"]


async def test_a_walk_neither_skips_nor_repeats_while_customers_change(merchant: Merchant) -> None:
    customers_ = [next_id() for _ in range(9)]
    for i, c in enumerate(customers_):
        await merchant.buy(c, f"{10 * (i + 1)}.00")
    await merchant.counted(9)
    first = await merchant.json("customers", limit=3)
    assert first["total"] == 9
    # The cheapest customer (on the last page) now outspends everyone, a new one arrives, and
    # another leaves the shop's data: none of it moves rows across the walk's pages.
    await merchant.buy(customers_[0], "5000.00")
    newcomer = next_id()
    await merchant.buy(newcomer, "999.00")
    await merchant.counted(11)
    rows, cursor = list(first["customers"]), first["next"]
    while cursor:
        page = await merchant.json("customers", limit=3, cursor=cursor)
        assert page["total"] == 9  # the walk's own total
        rows += page["customers"]
        cursor = page["next"]
    assert sorted(int(r["customer_id"]) for r in rows) == sorted(customers_)
    # Figures are read fresh: the customer who spent more shows it on the page that lists them.
    moved = next(r for r in rows if r["customer_id"] == str(customers_[0]))
    assert moved["net_spent"] == "5010.00"
    # A new walk sees the new order.
    assert (await merchant.json("customers", limit=3))["customers"][0]["customer_id"] == str(customers_[0])
    # A cursor is only good for the sort and filters it was made with.
    other = await merchant.get("customers", limit=3, sort="orders_count", cursor=first["next"])
    assert other.status_code == 422 and "cursor" in other.json()["errors"]


async def test_an_expired_walk_continues_after_its_last_row(
    merchant: Merchant, redis_client: redis.Redis
) -> None:
    for i in range(5):
        await merchant.buy(next_id(), f"{i + 1}.00")
    rows = await merchant.counted(5)
    first = await merchant.json("customers", limit=2, sort="net_spent", order="asc")
    doomed = [k async for k in redis_client.scan_iter(match=redis_keys.customer_walks(merchant.shop))]
    assert doomed
    await redis_client.delete(*doomed)
    rest = await merchant.json("customers", limit=10, sort="net_spent", order="asc", cursor=first["next"])
    walked = [r["net_spent"] for r in first["customers"] + rest["customers"]]
    assert walked == sorted(r["net_spent"] for r in rows) == ["1.00", "2.00", "3.00", "4.00", "5.00"]


async def test_names_come_from_shopify_one_request_per_page_and_q_searches_there(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> None:
    m = await connected_merchant(app, fake, registry, "read_orders,read_customers")
    shop = m.shop
    people = {"Maya Lindqvist": next_id(), "Liam Ortega": next_id(), "Maya Brown": next_id()}
    for name, c in people.items():
        first, last = name.split()
        add_customer(fake, shop, c, first_name=first, last_name=last, email=f"{first.lower()}@example.com")
        await m.buy(c, "20.00")
    unnamed = next_id()  # a customer Shopify has no record of any more
    await m.buy(unnamed, "1.00")
    await m.settled("61.00")

    before = len(fake.calls_to("nodes"))
    page = await m.json("customers", limit=2)
    assert len(fake.calls_to("nodes")) == before + 1
    rest = await m.json("customers", limit=2, cursor=page["next"])
    assert len(fake.calls_to("nodes")) == before + 2
    named = {r["customer_id"]: r["name"] for r in page["customers"] + rest["customers"]}
    assert named == {**{str(c): n for n, c in people.items()}, str(unnamed): None}
    await m.json("customers", limit=2)  # names are remembered for a few minutes
    assert len(fake.calls_to("nodes")) == before + 2

    found = await m.json("customers", q="maya")
    assert sorted(r["name"] for r in found["customers"]) == ["Maya Brown", "Maya Lindqvist"]
    assert found["total"] == 2
    assert (await m.json("customers", q="maya brown"))["total"] == 1
    assert (await m.json("customers", q="nobody"))["total"] == 0
    lines = (await m.get("customers.csv", q="liam")).text.splitlines()
    assert lines[1].split(",")[:2] == [str(people["Liam Ortega"]), "Liam Ortega"]


async def test_a_shop_that_did_not_grant_names_gets_none_and_no_search(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> None:
    m = await connected_merchant(app, fake, registry, "read_orders,read_customers")
    deny_names(fake, m.shop)
    c = next_id()
    add_customer(fake, m.shop, c, first_name="Noah", last_name="Kim")
    await m.buy(c, "5.00")
    await m.counted(1)
    assert [r["name"] for r in (await m.json("customers"))["customers"]] == [None]
    refused = await m.get("customers", q="noah")
    assert refused.status_code == 422 and "grant" in refused.json()["errors"]["q"]


async def test_a_customer_page_has_metrics_orders_history_and_tags(merchant: Merchant) -> None:
    c = next_id()
    first = await merchant.buy(c, "30.00", days_ago=3)
    await merchant.buy(c, "20.00", days_ago=2)
    await merchant.refund(first, "10.00")
    await merchant.buy(c, "50.00", days_ago=1)  # the third order makes a VIP

    async def detail() -> Json | None:
        answer = await merchant.get(f"customers/{c}")
        body = answer.json() if answer.status_code == 200 else None
        return body if body and body["net_spent"] == "90.00" and body["tier_history"] else None

    got = await eventually(detail)
    assert (got["customer_id"], got["orders_count"], got["total_spent"]) == (str(c), 3, "100.00")
    assert (got["tier"], got["segment"], got["name"]) == ("VIP", got["segment"], None)
    assert set(got["rfm"]) == {"recency", "frequency", "monetary"}
    assert [(o["total"], o["refunded"], o["status"]) for o in got["orders"]] == [
        ("50.00", "0", "open"),
        ("20.00", "0", "open"),
        ("30.00", "10.00", "partially refunded"),
    ]
    [change] = got["tier_history"]
    assert (change["tier_from"], change["tier_to"], change["tags_add"]) == (None, "VIP", ["VIP"])
    assert got["tags"] == []  # the test stack writes tags dry-run: none written to Shopify
    assert got["admin_url"] == f"https://{merchant.shop}/admin/customers/{c}"
    assert (await merchant.get(f"customers/{next_id()}")).status_code == 404


async def test_a_redacted_customer_leaves_the_app(merchant: Merchant, redis_client: redis.Redis) -> None:
    kept, gone = next_id(), next_id()
    for c in (kept, gone):
        for _ in range(3):
            await merchant.buy(c, "10.00")
    await merchant.counted(6)
    assert await redis_client.exists(redis_keys.customer_history(merchant.shop, str(gone)))
    payload = {
        "shop_domain": merchant.shop,
        "customer": {"id": gone, "email": "x@example.com"},
        "orders_to_redact": [],
    }
    await deliver(merchant.app, webhook(CUSTOMERS_REDACT, merchant.shop, payload))

    async def left() -> bool:
        return [r["customer_id"] for r in await merchant.export_rows()] == [str(kept)]

    await eventually(left)
    assert [r["customer_id"] for r in (await merchant.json("customers"))["customers"]] == [str(kept)]
    assert (await merchant.get(f"customers/{gone}")).status_code == 404
    assert (await merchant.json("overview"))["customers"] == 1
    assert not await redis_client.exists(redis_keys.customer_history(merchant.shop, str(gone)))


async def test_exports_stream_every_matching_customer(merchant: Merchant) -> None:
    ids = await shop_with_customers(merchant)
    answer = await merchant.get("customers.csv", sort="net_spent", order="asc")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["net_spent"] for r in table] == ["9.99", "15.50", "50.00", "80.00", "300.00"]
    assert table[0]["name"] == "" and table[-1]["tier"] == "VIP"
    lines = await merchant.export_rows(min_orders=2)
    assert {r["customer_id"] for r in lines} == {str(ids["vip"]), str(ids["regular"])}
    # A download is a navigation: the token may come as ?id_token= like a page's.
    link = await merchant.app.get(
        "/app/api/customers.json", params={"id_token": merchant.fake.session_token(merchant.shop)}
    )
    assert link.status_code == 200 and len(link.content.splitlines()) == 5


async def test_settings_are_read_and_changed_field_by_field(merchant: Merchant) -> None:
    settings = await merchant.json("settings")
    assert settings["shop"] == merchant.shop and settings["min_order_value"] == "0"
    changed = await merchant.app.put(
        "/app/api/settings", json={"min_order_value": "25.00", "vip_dropoff_days": 200}, headers=merchant.auth
    )
    assert changed.status_code in (200, 202), changed.text
    assert changed.json()["min_order_value"] == "25.00"

    async def applied() -> bool:
        now = await merchant.json("settings")
        return now["min_order_value"] == "25.00" and now["vip_dropoff_days"] == 200

    await eventually(applied)
    assert (await merchant.json("settings"))["languages"] == settings["languages"]  # untouched

    bad = await merchant.app.put(
        "/app/api/settings",
        json={"templates": {"en": {"purchase": "{who} bought {nothing}"}}, "min_order_value": "-1"},
        headers=merchant.auth,
    )
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"templates", "min_order_value"}
    not_json = await merchant.app.put("/app/api/settings", content=b"{", headers=merchant.auth)
    assert not_json.status_code == 422 and "body" in not_json.json()["errors"]


async def test_the_vip_preview_shows_what_a_proposal_would_tag_and_writes_nothing(merchant: Merchant) -> None:
    ids = await shop_with_customers(merchant)
    current = await merchant.json("vip-preview")
    assert (current["would_tag"], current["would_untag"], current["changes"]) == (0, 0, [])
    proposal = [
        {"name": "VIP", "tag": "VIP", "min_orders": 2, "min_spent": "0"},
        {"name": "Gold", "tag": "Gold", "min_orders": 0, "min_spent": "250"},
    ]
    preview = await merchant.json("vip-preview", tiers=orjson.dumps(proposal).decode(), vip_dropoff_days=100)
    changes = {c["customer_id"]: c for c in preview["changes"]}
    assert changes[str(ids["vip"])] == {
        "customer_id": str(ids["vip"]),
        "tier_from": "VIP",
        "tier_to": "Gold",
        "tags_add": ["Gold"],
        "tags_remove": ["VIP"],
    }
    assert str(ids["regular"]) not in changes  # two orders, but the last 200 days ago > 100
    assert (preview["would_tag"], preview["would_untag"]) == (1, 1)
    assert (await merchant.json("settings"))["tiers"][0]["min_orders"] == 3  # nothing written
    bad = await merchant.get("vip-preview", tiers='[{"min_orders": "many"}]')
    assert bad.status_code == 422 and any(k.startswith("tiers") for k in bad.json()["errors"])


async def test_overview_counts_the_shop(merchant: Merchant) -> None:
    await shop_with_customers(merchant)

    async def figures() -> Json | None:
        body = await merchant.json("overview")
        return body if body["notifications_published"]["today"] else None  # one order is from today

    got = await eventually(figures)
    assert (got["customers"], got["active_customers"], got["vips"]) == (5, 3, {"VIP": 1})
    assert got["currency"] == "USD"
    # 300 + 80 + 15.50 + 50 (refunded 30) + 9.99 = 455.49 net over 8 orders and 5 customers.
    assert (got["net_revenue"], got["average_order_value"], got["average_lifetime_value"]) == (
        "455.49",
        "56.94",
        "91.10",
    )
    assert sum(got["segments"].values()) == 5 and got["at_risk"] == got["segments"]["at risk"]
    assert got["new_customers"]["this_month"] >= 1
    assert got["notifications_published"]["last_7_days"] >= got["notifications_published"]["today"]
    assert got["backfill"]["state"] == "never"


async def test_a_backfill_runs_once_at_a_time_and_reports_progress(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> None:
    m = await connected_merchant(app, fake, registry)
    customer = next_id()
    for i in range(6):
        at = (datetime.now(UTC) - timedelta(days=30 + i)).isoformat().replace("+00:00", "Z")
        add_order(
            fake,
            m.shop,
            {
                "id": f"gid://shopify/Order/{next_id()}",
                "createdAt": at,
                "updatedAt": at,
                "cancelledAt": None,
                "customer": {"id": f"gid://shopify/Customer/{customer}"},
                "totalPriceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "EUR"}},
                "refunds": [],
            },
        )
    assert (await m.json("backfill"))["state"] == "never"
    # Shopify throttles every page for now, so the run is still going when asked again.
    fake.cost = lambda field, args: 5000.0 if field == "orders" else 1.0
    try:
        started = await app.post("/app/api/backfill", headers=m.auth)
        assert started.status_code == 202 and started.json()["state"] == "running"
        again = await app.post("/app/api/backfill", headers=m.auth)
        assert again.status_code == 409 and again.json()["backfill"]["state"] == "running"
    finally:
        fake.cost = lambda field, args: 10.0

    async def finished() -> Json | None:
        state = await m.json("backfill")
        return state if state["state"] != "running" else None

    done = await eventually(finished, timeout=60)
    assert (done["state"], done["done"], done["total"], done["produced"]) == ("done", 6, 6, 6)
    rows = await m.counted(6)
    assert [(r["customer_id"], r["net_spent"]) for r in rows] == [(str(customer), "60.00")]


async def test_sync_now_queues_one_run_at_a_time_and_is_audited(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> None:
    m = await connected_merchant(app, fake, registry)
    never = await m.json("sync")
    assert (never["state"], never["last_run"], never["subscriptions"]) == ("never", None, "api")
    assert never["next_run"] > datetime.now(UTC).isoformat()  # first run: within the interval of the install
    bad = await app.post("/app/api/sync", json={"full": "often"}, headers=m.auth)
    assert bad.status_code == 422 and "full" in bad.json()["errors"]

    started = await app.post("/app/api/sync", json={"full": True}, headers=m.auth)
    assert started.status_code == 202, started.text
    assert (started.json()["state"], started.json()["requested"]) == ("queued", "full")
    again = await app.post("/app/api/sync", headers=m.auth)
    assert again.status_code == 409 and again.json()["sync"]["state"] in ("queued", "running")

    async def audited() -> list[Json] | None:
        entries = (await m.json("audit", action="sync.started"))["entries"]
        return entries or None

    (entry,) = await eventually(audited, timeout=20)
    assert entry["details"] == {"full": True}
    assert "sync" in await m.json("overview")


async def test_one_shop_never_sees_or_changes_another(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> None:
    a, b = Merchant(app, fake, new_shop_domain()), Merchant(app, fake, new_shop_domain())
    for m in (a, b):
        await registry.install(m.shop, "shpat_tenant")
    a_customer, b_customer = next_id(), next_id()
    for _ in range(3):
        await a.buy(a_customer, "70.00")
    await a.buy(next_id(), "1.00")
    await b.buy(b_customer, "5.00")
    await a.counted(4)
    await b.counted(1)
    a_walk = await a.json("customers", limit=1)

    async def b_sees(path: str, **params: Any) -> httpx.Response:
        return await b.get(path, shop=a.shop, **params)

    listed = (await b_sees("customers")).json()
    assert [r["customer_id"] for r in listed["customers"]] == [str(b_customer)]
    assert (await b_sees(f"customers/{a_customer}")).status_code == 404
    exported = (await b_sees("customers.csv")).text
    assert str(a_customer) not in exported and str(b_customer) in exported
    overview = (await b_sees("overview")).json()
    assert (overview["customers"], overview["net_revenue"]) == (1, "5.00")
    assert (await b_sees("settings")).json()["shop"] == b.shop
    assert (await b_sees("vip-preview")).json()["customers"] == 1
    assert (await b_sees("backfill")).json()["state"] == "never"
    # A's cursor, replayed by B, walks B's list (the walk is looked up under B's shop only).
    replayed = (await b.get("customers", limit=1, cursor=a_walk["next"])).json()
    assert str(a_customer) not in orjson.dumps(replayed).decode()

    hijack = await b.app.put(
        "/app/api/settings",
        params={"shop": a.shop},
        json={"shop": a.shop, "min_order_value": "999"},
        headers=b.auth,
    )
    assert hijack.status_code == 422 and "shop" in hijack.json()["errors"]
    assert (await a.json("settings"))["min_order_value"] == "0"
    started = await b.app.post("/app/api/backfill", params={"shop": a.shop}, headers=b.auth)
    assert started.status_code == 202
    assert (await a.json("backfill"))["state"] == "never"


async def test_every_route_refuses_a_bad_token_with_401(merchant: Merchant) -> None:
    routes = [
        ("GET", "overview"),
        ("GET", "customers"),
        ("GET", "customers.csv"),
        ("GET", "customers.json"),
        ("GET", "customers/1"),
        ("GET", "settings"),
        ("PUT", "settings"),
        ("GET", "vip-preview"),
        ("GET", "backfill"),
        ("POST", "backfill"),
        ("GET", "sync"),
        ("POST", "sync"),
    ]
    bad_tokens = [
        None,
        merchant.fake.session_token(merchant.shop, secret="x" * 32),
        merchant.fake.session_token(merchant.shop, audience="another-app"),
        merchant.fake.session_token(merchant.shop, ttl_s=-60),
    ]
    for method, path in routes:
        for bad in bad_tokens:
            headers = {"Authorization": f"Bearer {bad}"} if bad else {}
            answer = await merchant.app.request(method, f"/app/api/{path}", headers=headers, json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["error"]


async def test_a_session_for_a_new_shop_installs_it(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> None:
    shop = new_shop_domain()
    m = Merchant(app, fake, shop)
    assert (await m.json("backfill"))["state"] in ("running", "done", "failed")
    assert shop in fake.tokens  # the session token was exchanged for an offline access token
    assert (await registry.get(shop)).installed
    assert await registry.access_token(shop) == fake.tokens[shop]
    assert {s["uri"] for s in subscriptions(fake, shop)} == {f"{PUBLIC}/webhooks/shopify"}
    done = await eventually(lambda: _finished_backfill(m))
    assert (done["state"], done["total"]) == ("done", 0)


async def _finished_backfill(m: Merchant) -> Json | None:
    state = await m.json("backfill")
    return state if state["state"] == "done" else None


async def test_a_new_shop_whose_install_fails_gets_403_with_the_reason(services: Services) -> None:
    # A Shopify that grants the token but has no webhook subscriptions to offer.
    with running_fake_shopify(customers.install(FakeShopify())) as broken:
        async with in_process_ingest(app_settings(services, broken)) as app:
            m = Merchant(app, broken, new_shop_domain())
            answer = await m.get("overview")
    assert answer.status_code == 403
    assert "webhook subscription failed" in answer.json()["error"]


async def test_pages_open_with_the_token_and_explain_without_it(merchant: Merchant) -> None:
    await merchant.buy(next_id(), "12.00")
    await merchant.counted(1)
    home = await merchant.app.get("/app/", params={"id_token": merchant.fake.session_token(merchant.shop)})
    assert home.status_code == 200 and merchant.shop in home.text
    assert 'data-figure="customers">1<' in home.text
    assert f"frame-ancestors https://{merchant.shop}" in home.headers["content-security-policy"]
    for params in ({}, {"id_token": merchant.fake.session_token(merchant.shop, ttl_s=-60)}):
        page = await merchant.app.get("/app/", params=params)
        assert page.status_code == 401 and "Open StorePulse from your Shopify admin" in page.text
