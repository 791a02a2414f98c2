"""The merchant's app in headless Chromium: every page opened with a session token, against a
real ingest (the app), worker, push, broker and Redis, with the fake Shopify.

One shop for the module, installed by its first page load (the managed install) and filled with
named customers through signed webhooks. The tests run in page order and the last ones change
settings. Each page leaves a screenshot in test-artifacts/admin-<page>.png.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from admin.session import dev_session_token
from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import ORDERS_CANCELLED, ORDERS_CREATE, REFUNDS_CREATE
from storepulse.devstack import Child, free_port, wait_ready
from tests.fake_shopify import FakeShopify, customers, products, running_fake_shopify
from tests.fake_shopify.customers import add_customer
from tests.fake_shopify.webhooks import register
from tests.support.browser import artifact
from tests.support.eventually import eventually
from tests.support.push import push_process
from tests.support.stack import ADMIN_TOKEN, Services, new_shop_domain
from tests.support.webhooks import deliver

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
# (first name, last name, [(days ago, total)], refunded on the first order, first order cancelled)
PEOPLE: list[tuple[str, str, list[tuple[float, str]], str | None, bool]] = [
    ("Maya", "Lopez", [(2, "120.00"), (9, "95.00"), (20, "130.00"), (0.01, "59.00")], None, False),
    (
        "Noah",
        "Kim",
        [(1, "250.00"), (5, "250.00"), (12, "180.00"), (25, "90.00"), (28, "60.00")],
        None,
        False,
    ),
    ("Ava", "Chen", [(200, "140.00"), (205, "160.00"), (210, "220.00")], None, False),
    ("Liam", "Patel", [(0.02, "15.50")], None, False),
    ("Emma", "Rossi", [(10, "80.00")], "30.00", False),
    ("Oliver", "Smith", [(400, "9.99")], None, False),
    ("Sofia", "Garcia", [(3, "45.00"), (4, "32.50")], None, True),
    ("Lucas", "Müller", [(6, "24.00"), (15, "24.00")], None, False),
    ("Mia", "Dubois", [(8, "59.00"), (16, "120.00"), (22, "59.00")], None, False),
    ("Ethan", "Brown", [(95, "75.00"), (120, "80.00")], None, False),
    ("Isla", "Novak", [(13, "32.50")], None, False),
    ("Leo", "Costa", [(18, "240.00"), (19, "60.00")], None, False),
    ("Zoe", "Adams", [(300, "45.00"), (330, "55.00"), (360, "65.00"), (365 - 30, "70.00")], None, False),
]
ORDERS = sum(len(p[2]) for p in PEOPLE) - sum(1 for p in PEOPLE if p[4])  # cancelled ones do not count


@dataclass
class Shop:
    """The merchant's shop as the tests reach it."""

    domain: str
    fake: FakeShopify
    ingest: Child
    push: Child
    http: httpx.AsyncClient
    ids: dict[str, int]  # first name → customer id

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ingest.port}"

    def token(self) -> str:
        """A session token as `storepulse dev` mints one (the stack's secret is the app's)."""
        return dev_session_token(self.domain, self.fake.client_id, self.fake.client_secret)

    def page(self, path: str = "/", **params: Any) -> str:
        return f"{self.base}/app{path}?{urlencode({'id_token': self.token(), **params})}"

    async def api(self, path: str, **params: Any) -> Any:
        answer = await self.http.get(
            f"/app/api/{path}", params=params, headers={"Authorization": f"Bearer {self.token()}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.headers["content-type"] == "application/json" else answer.text

    async def buy(self, customer_id: int, total: str, *, days_ago: float = 0, product=CATALOG[0]) -> dict:
        at = datetime.now(UTC) - timedelta(days=days_ago)
        o = order(customer_id=customer_id, product=product, created_at=at, rng=random.Random(customer_id))
        o |= {"total_price": total}
        await deliver(self.http, webhook(ORDERS_CREATE, self.domain, o))
        return o


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShopify]:
    # The merchant grants customers' names, which the list and the customer page show.
    granted = FakeShopify(scope="read_orders,read_customers,write_customers")
    with running_fake_shopify(register(products.install(customers.install(granted)))) as fake:
        yield fake


@pytest.fixture(scope="module")
def processes(services: Services, fake: FakeShopify) -> Iterator[tuple[Child, Child]]:
    """An ingest serving the app (it reaches the fake Shopify and the worker) and a push whose
    demo page sends its beacons to that ingest."""
    ingest_port = free_port()
    with push_process(
        services.stack, "push-admin", STOREPULSE_PUBLIC_INGEST_URL=f"http://127.0.0.1:{ingest_port}"
    ) as push:
        ingest = services.stack.start_service(
            "ingest",
            ingest_port,
            name="ingest-admin",
            extra_env={
                "SHOPIFY_API_KEY": fake.client_id,
                "SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(),
                "STOREPULSE_ADMIN_API_URL": services.worker_url,
                "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN,
                "STOREPULSE_PUBLIC_PUSH_URL": f"http://127.0.0.1:{push.port}",
                # No Shopify admin around these pages: no App Bridge, as on the dev stack.
                "STOREPULSE_DEV_AUTO_INSTALL": "true",
            },
        )
        try:
            wait_ready(ingest.port, 60, ingest)
            yield ingest, push
        finally:
            ingest.stop()


@pytest.fixture(scope="module")
async def shop(fake: FakeShopify, processes: tuple[Child, Child]) -> AsyncIterator[Shop]:
    ingest, push = processes
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest.port}", timeout=30) as http:
        s = Shop(new_shop_domain(), fake, ingest, push, http, {})
        # The first page load installs the shop (token exchange, webhooks, backfill).
        assert (await http.get("/app/", params={"id_token": s.token()})).status_code == 200
        for n, (first, last, orders, refund, cancel) in enumerate(PEOPLE):
            s.ids[first] = customer_id = 9_000_000 + n
            add_customer(
                fake, s.domain, customer_id, first_name=first, last_name=last, email=f"{first}@x.test"
            )
            placed = [await s.buy(customer_id, total, days_ago=ago) for ago, total in orders]
            if refund:
                tx = {"kind": "refund", "status": "success", "amount": refund}
                payload = {"id": next_id(), "order_id": placed[0]["id"], "transactions": [tx]}
                await deliver(http, webhook(REFUNDS_CREATE, s.domain, payload))
            if cancel:
                gone = placed[0] | {"cancelled_at": datetime.now(UTC).isoformat()}
                gone["updated_at"] = (
                    datetime.fromisoformat(gone["updated_at"]) + timedelta(minutes=1)
                ).isoformat()
                await deliver(http, webhook(ORDERS_CANCELLED, s.domain, gone))

        async def counted() -> bool:
            rows = [orjson.loads(line) for line in (await s.api("customers.json")).splitlines()]
            emma = next((r for r in rows if r["customer_id"] == str(s.ids["Emma"])), None)
            return (
                sum(r["orders_count"] for r in rows) == ORDERS
                and emma is not None
                and emma["net_spent"] == "50.00"
            )

        await eventually(counted, timeout=60, what=f"{ORDERS} orders counted")
        yield s


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=DESKTOP)
    p = await context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    await context.close()
    assert errors == [], errors  # no script error on any page


async def settle(page: Page) -> None:
    """Fonts, layout and animations done (the preview's toasts slide in): what a screenshot
    shows is what a merchant sees."""
    await page.wait_for_load_state("networkidle")
    await page.evaluate("document.fonts.ready")
    for frame in page.frames:
        await frame.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")


async def test_home_shows_overview_charts_embed_state_and_live_feed(shop: Shop, page: Page) -> None:
    await page.goto(shop.page())
    await expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()
    await expect(page.locator('[data-figure="customers"]')).to_have_text(str(len(PEOPLE)))
    overview = await shop.api("overview")
    assert overview["customers"] == len(PEOPLE)
    # The sync card: a new shop's first sync is a few hours away.
    sync = page.locator("#sync")
    await expect(sync.get_by_role("heading", name="Sync with Shopify")).to_be_visible()
    await expect(sync).to_contain_text("Not synced yet")
    await expect(sync).to_contain_text("next sync in")
    # The app embed: nothing from the storefront yet, so the deep link to switch it on.
    enable = page.get_by_role("link", name="Enable in theme editor")
    expected_link = (
        f"https://{shop.domain}/admin/themes/current/editor?context=apps"
        f"&activateAppId={shop.fake.client_id}/app-embed"
    )
    assert await enable.get_attribute("href") == expected_link
    # 30 days of orders: one bar a day, the chart's table holds the same numbers.
    assert await page.locator(".chart rect.bar").count() == 30
    assert await page.locator("details.data-table tbody tr").count() == 30
    segments = page.get_by_role("list").filter(has=page.get_by_role("link", name="At risk"))
    await expect(segments.get_by_role("link", name="Champions")).to_be_visible()
    # The live feed: an order placed now appears without a reload.
    await expect(page.get_by_text("Live", exact=True)).to_be_visible()
    await shop.buy(shop.ids["Liam"], "24.00", product=CATALOG[2])
    liam = page.locator("#feed li").filter(has_text="Canvas Tote")
    await expect(liam.first).to_be_visible(timeout=15_000)
    await settle(page)
    await page.screenshot(path=artifact("admin-home.png"), full_page=True)
    # A storefront page view (the demo store runs the widget) turns the embed's state to live.
    store = await page.context.new_page()
    await store.goto(f"http://127.0.0.1:{shop.push.port}/demo/{shop.domain}")
    await store.wait_for_function("window.StorePulse")

    async def live() -> bool:
        await page.reload()
        return await page.get_by_role("heading", name="StorePulse is live on your storefront").count() == 1

    await eventually(live, timeout=20, every=0.5, what="the embed shown as live")


async def test_sync_now_asks_for_a_sync_and_says_what_the_server_answered(shop: Shop, page: Page) -> None:
    await page.goto(shop.page())
    sync = page.locator("#sync")
    button = sync.get_by_role("button", name="Sync now")
    await button.click()
    await expect(sync.get_by_role("status")).to_have_text(
        re.compile(r"^(Sync started|A sync is already running)")
    )
    await expect(button).to_be_disabled()
    await page.screenshot(path=artifact("admin-home-sync.png"), full_page=True)
    # The request reached the sync: queued for a worker, or taken up by one already (this stack's
    # worker reaches no Shopify, so its run may have failed by now).
    assert (await shop.api("sync"))["state"] != "never"


def body_rows(page: Page) -> Locator:
    return page.get_by_role("table").locator("tbody tr")


def cells(page: Page, n: int) -> Locator:
    """The table's `n`th column (1-based), top to bottom."""
    return body_rows(page).locator(f"td:nth-child({n})")


async def names_of(shop: Shop, **params: Any) -> list[str]:
    """The names the API lists for `params`, in its order: what the table must show."""
    return [c["name"] for c in (await shop.api("customers", **params))["customers"]]


async def test_customers_sort_filter_search_page_and_export(shop: Shop, page: Page) -> None:
    await page.goto(shop.page("/customers"))
    await expect(cells(page, 1)).to_have_text(await names_of(shop))
    assert (await names_of(shop))[:2] == ["Noah Kim", "Ava Chen"]  # net spent, highest first
    header = page.get_by_role("columnheader", name="Orders")
    for direction in ("desc", "asc"):  # a header sorts highest first, then lowest first
        await page.get_by_role("link", name="Orders", exact=True).click()
        await expect(header).to_have_attribute("aria-sort", f"{direction}ending")
        await expect(cells(page, 1)).to_have_text(await names_of(shop, sort="orders_count", order=direction))
    counts = [int(n) for n in await cells(page, 4).all_inner_texts()]
    assert counts == sorted(counts)
    await page.get_by_role("link", name="Last order", exact=True).click()
    recent = await names_of(shop, sort="last_order_at", order="desc")
    await expect(cells(page, 1)).to_have_text(recent)

    # Filters keep the sort; each narrows what the API answers.
    await page.get_by_label("Tier").select_option("VIP")
    await page.get_by_role("button", name="Apply").click()
    vips = await names_of(shop, tier="VIP", sort="last_order_at", order="desc")
    await expect(cells(page, 1)).to_have_text(vips)
    assert await body_rows(page).filter(has_text="★ VIP").count() == len(vips)
    await page.get_by_role("link", name="Clear").click()
    await expect(page.get_by_role("link", name="Clear")).to_have_count(0)
    await page.get_by_label("Segment").select_option("at risk")
    await page.get_by_role("button", name="Apply").click()
    at_risk = await names_of(shop, segment="at risk")
    assert sorted(at_risk) == ["Ava Chen", "Zoe Adams"]
    await expect(cells(page, 1)).to_have_text(at_risk)
    await page.get_by_role("link", name="Clear").click()
    await expect(page.get_by_role("link", name="Clear")).to_have_count(0)
    today = datetime.now(UTC).date()
    window = {
        "last_order_from": (today - timedelta(days=450)).isoformat(),
        "last_order_to": (today - timedelta(days=150)).isoformat(),
    }
    await page.get_by_label("Last order from").fill(window["last_order_from"])
    await page.get_by_label("Last order to").fill(window["last_order_to"])
    await page.get_by_role("button", name="Apply").click()
    lapsed = await names_of(shop, **window)
    assert sorted(lapsed) == ["Ava Chen", "Oliver Smith", "Zoe Adams"]
    await expect(cells(page, 1)).to_have_text(lapsed)
    await page.get_by_role("link", name="Clear").click()
    await expect(page.get_by_role("link", name="Clear")).to_have_count(0)
    await page.get_by_role("searchbox", name="Search by name or email").fill("emma")
    await page.keyboard.press("Enter")
    await expect(cells(page, 1)).to_have_text(["Emma Rossi"])
    await page.get_by_label("Last order from").fill((today + timedelta(days=3)).isoformat())
    await page.get_by_label("Last order to").fill(today.isoformat())
    await page.get_by_role("button", name="Apply").click()
    await expect(page.get_by_role("alert")).to_contain_text("must not be before last_order_from")

    # Pages of five: every customer once, in the order of one list.
    await page.goto(shop.page("/customers", limit=5, sort="net_spent", order="asc"))
    walk = await names_of(shop, sort="net_spent", order="asc")
    for number, start in ((1, 0), (2, 5), (3, 10)):
        await expect(page.get_by_text(f"Page {number} · {start + 1}\N{EN DASH}")).to_be_visible()
        await expect(cells(page, 1)).to_have_text(walk[start : start + 5])
        if number < 3:
            await page.get_by_role("link", name="Next page").click()
    assert len(set(walk)) == len(PEOPLE)
    await expect(page.get_by_text("Next page")).to_have_attribute("aria-disabled", "true")
    await page.get_by_role("link", name="First page").click()
    await expect(page.get_by_text("Page 1 ·")).to_be_visible()

    # Exports carry the list's filters: a CSV of the VIPs.
    await page.goto(shop.page("/customers", tier="VIP"))
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Export CSV").click()
    lines = (await (await download.value).path()).read_text().splitlines()
    assert lines[0].startswith("customer_id,name,orders_count") and len(lines) == 1 + len(vips)
    assert sorted(line.split(",")[1] for line in lines[1:]) == sorted(vips)
    await settle(page)
    await page.goto(shop.page("/customers"))
    await settle(page)
    await page.screenshot(path=artifact("admin-customers.png"), full_page=True)
    # A row opens its customer (the mouse anywhere on it; the name is the keyboard's link).
    await body_rows(page).filter(has_text="Emma Rossi").locator("td").nth(5).click()
    await expect(page.get_by_role("heading", name="Emma Rossi")).to_be_visible()


async def test_customer_page_shows_metrics_orders_history_and_shopify_link(shop: Shop, page: Page) -> None:
    maya = shop.ids["Maya"]
    await page.goto(shop.page(f"/customers/{maya}"))
    await expect(page.get_by_role("heading", name="Maya Lopez")).to_be_visible()
    await expect(page.locator(".avatar")).to_have_text("ML")
    await expect(page.locator(".identity .badge.vip")).to_have_text("★ VIP")
    await expect(page.get_by_text(f"Customer ID {maya}")).to_be_visible()
    metrics = page.get_by_role("region", name="Metrics")
    await expect(metrics).to_contain_text("Orders4")
    await expect(metrics).to_contain_text("Lifetime value$404.00")
    orders = page.get_by_role("region", name="Orders").locator("tbody tr")
    await expect(orders).to_have_count(4)
    await expect(page.get_by_role("region", name="Tier history")).to_contain_text("Became VIP")
    link = page.get_by_role("link", name="View in Shopify admin")
    assert await link.get_attribute("href") == f"https://{shop.domain}/admin/customers/{maya}"
    await settle(page)
    await page.screenshot(path=artifact("admin-customer.png"), full_page=True)
    # Refunds and cancels show on the order's badge.
    await page.goto(shop.page(f"/customers/{shop.ids['Emma']}"))
    await expect(page.get_by_role("region", name="Orders").locator(".badge")).to_have_text(
        "Partially refunded"
    )
    await page.goto(shop.page(f"/customers/{shop.ids['Sofia']}"))
    await expect(
        page.get_by_role("region", name="Orders").locator(".badge", has_text="Cancelled")
    ).to_be_visible()
    missing = await page.goto(shop.page("/customers/1"))
    assert missing is not None and missing.status == 404
    await expect(page.get_by_role("heading", name="Customer not found")).to_be_visible()


async def test_vip_program_previews_before_saving(shop: Shop, page: Page) -> None:
    await page.goto(shop.page("/vip"))
    await expect(page.get_by_label("Tier name")).to_have_value("VIP")
    await page.get_by_role("button", name="Add tier").click()
    gold = page.locator("[data-tier-row]").nth(1)
    await gold.get_by_label("Tier name").fill("Gold")
    await gold.get_by_label("Customer tag").fill("gold")
    await gold.get_by_label("At least … orders").fill("5")
    await gold.get_by_label("Or at least … spent").fill("400")
    await page.get_by_role("button", name="Preview changes").click()
    preview = page.get_by_role("region", name="What these tiers would change")
    await expect(preview).to_be_visible()
    expected = await shop.api(
        "vip-preview",
        tiers=orjson.dumps(
            [
                {"name": "VIP", "tag": "VIP", "min_orders": 3, "min_spent": "0"},
                {"name": "Gold", "tag": "gold", "min_orders": 5, "min_spent": "400"},
            ]
        ).decode(),
    )
    assert expected["would_tag"] >= 1  # Noah has 5 orders, Maya spent 404
    await expect(preview.locator("[data-would-tag]")).to_have_text(str(expected["would_tag"]))
    await expect(preview.get_by_role("link", name=f"Customer #{shop.ids['Noah']}")).to_be_visible()
    assert (await shop.api("settings"))["tiers"] == [
        {"name": "VIP", "tag": "VIP", "min_orders": 3, "min_spent": "0"}
    ]
    await settle(page)
    await page.screenshot(path=artifact("admin-vip.png"), full_page=True)
    # A bad value is refused beside its field, and nothing is saved.
    await page.get_by_label("Dropoff after … days without an order").fill("2.5")
    await page.get_by_role("button", name="Save").click()
    dropoff = page.get_by_label("Dropoff after … days without an order")
    await expect(dropoff).to_have_attribute("aria-invalid", "true")
    assert (await shop.api("settings"))["vip_dropoff_days"] == 365
    await dropoff.fill("180")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="VIP program saved")).to_be_visible()
    saved = await shop.api("settings")
    assert [t["name"] for t in saved["tiers"]] == ["VIP", "Gold"] and saved["vip_dropoff_days"] == 180
    await expect(page.locator("[data-tier-row]")).to_have_count(2)


async def test_notification_settings_refuse_a_bad_template_and_reach_the_next_toast(
    shop: Shop, page: Page
) -> None:
    await page.goto(shop.page("/notifications"))
    frame = page.frame_locator("iframe[title^='Your storefront']")
    await expect(frame.locator(".sp-toast.sp-purchase")).to_contain_text("just bought Cloud Hoodie")
    message = page.get_by_label("Purchase message")
    # The preview follows the form as it is typed, through the real widget.
    await message.fill("{who} grabbed {product}!")
    await page.get_by_label("Bottom right").check()
    await expect(frame.locator(".sp-toast.sp-purchase")).to_contain_text(
        "Maya in Austin, US grabbed Cloud Hoodie!"
    )
    await expect(frame.locator(".sp-root.sp-right")).to_be_attached()  # the widget's own placement
    root = await frame.locator(".sp-root").bounding_box()
    box = await page.locator("iframe[title^='Your storefront']").bounding_box()
    assert root["x"] > box["x"] + box["width"] / 3  # on the right of the frame
    await page.get_by_label("City only").check()
    await expect(frame.locator(".sp-toast.sp-purchase")).to_contain_text("Someone in Austin, US grabbed")
    await page.get_by_label("First name and city").check()
    await settle(page)
    await page.screenshot(path=artifact("admin-notifications.png"), full_page=True)

    # A template with a field it cannot have: refused beside the field, nothing saved.
    await message.fill("{who} bought {price}")
    await page.get_by_role("button", name="Save").click()
    await expect(message).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#template-purchase-error")).to_contain_text("{price}")
    await expect(message).to_have_value("{who} bought {price}")  # what was typed stays
    assert (await shop.api("settings"))["templates"] == {}

    await message.fill("{who} grabbed {product}!")
    await page.get_by_label("Bottom right").check()
    await page.get_by_label("Seconds between two toasts").fill("0")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="Notifications saved")).to_be_visible()
    await expect(page.get_by_label("Purchase message")).to_have_value("{who} grabbed {product}!")
    settings = await shop.api("settings")
    assert settings["templates"] == {"en": {"purchase": "{who} grabbed {product}!"}}
    widget = settings["widget"]
    assert (widget["position"], widget["gap_s"], widget["max_per_session"]) == ("bottom-right", 0, 10)

    # The look follows the form in the preview; a bad URL pattern is refused beside its field.
    await page.get_by_label("Dark").check()
    purchase = frame.locator(".sp-toast.sp-purchase")
    await expect(purchase).to_have_css("background-color", "rgb(31, 33, 36)")
    await page.get_by_role("button", name="Phone").click()
    await expect(frame.locator(".sp-root")).to_have_css("left", "8px")  # full width at 390 px
    await settle(page)
    await page.locator("aside").screenshot(path=artifact("admin-notifications-phone-dark.png"))
    exclude = page.get_by_label("Never on pages matching")
    await exclude.fill("sale")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#widget-exclude_urls-error")).to_contain_text("not a URL path pattern")
    await expect(exclude).to_have_attribute("aria-invalid", "true")
    assert (await shop.api("settings"))["widget"]["theme"] == "light"  # nothing saved
    await exclude.fill("*/sale")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="Notifications saved")).to_be_visible()
    widget = (await shop.api("settings"))["widget"]
    assert (widget["theme"], widget["exclude_urls"]) == ("dark", ["*/sale"])

    # The next order's toast on the storefront reads the new words, where the merchant put it.
    store = await page.context.new_page()
    await store.goto(f"http://127.0.0.1:{shop.push.port}/demo/{shop.domain}?duration-ms=60000")
    await store.wait_for_function("window.StorePulse")
    await shop.buy(shop.ids["Isla"], "59.00", product=CATALOG[1])
    toast = store.locator(".sp-toast.sp-purchase", has_text="grabbed Trail Runner!")
    await expect(toast).to_be_visible(timeout=15_000)
    root = await store.locator(".sp-root").bounding_box()
    assert root["x"] > store.viewport_size["width"] / 2


async def test_languages_are_chosen_and_previewed_side_by_side_right_to_left_where_they_read_so(
    shop: Shop, page: Page
) -> None:
    await page.goto(shop.page("/languages"))
    await page.get_by_label("Sell in Japanese").check()
    await page.get_by_label("Sell in Arabic").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="Languages saved")).to_be_visible()
    assert (await shop.api("settings"))["languages"] == ["en", "ar", "ja"]  # the default first
    previews = page.locator("[data-language]")
    await expect(previews).to_have_count(3)
    english, arabic, japanese = (page.locator(f"[data-language={tag}]") for tag in ("en", "ar", "ja"))
    await expect(english).to_contain_text("Maya in Austin, United States grabbed Cloud Hoodie!")  # theirs
    await expect(japanese).to_contain_text("過去24時間で14人がCloud Hoodieを購入しました")
    await expect(arabic).to_contain_text("اشترى 14 شخصًا Cloud Hoodie خلال آخر 24 ساعة")  # 14: "many"
    assert await arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert await japanese.evaluate("e => getComputedStyle(e).direction") == "ltr"
    await settle(page)
    await page.screenshot(path=artifact("admin-languages.png"), full_page=True)


async def test_the_audit_log_lists_what_was_changed_and_by_whom(shop: Shop, page: Page) -> None:
    await page.goto(shop.page("/audit"))
    rows = page.locator("#audit-table tbody tr")
    await expect(rows.first).to_contain_text("Settings saved")
    await expect(rows.first).to_contain_text('languages: ["en"] → ["en", "ar", "ja"]')
    await page.get_by_label("Action").select_option("settings.saved")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"action=settings\.saved"))
    assert {await r.get_attribute("data-action") for r in await rows.all()} == {"settings.saved"}
    await settle(page)
    await page.screenshot(path=artifact("admin-audit.png"), full_page=True)


async def test_analytics_shows_the_funnel_attributed_orders_and_an_experiment(shop: Shop, page: Page) -> None:
    """Two shoppers see toasts (one clicks), both buy with the widget's cart attribute; a third
    buys without having seen one. (Earlier tests' storefront pages sent impressions of their own.)"""
    visitors = [f"analytics-visitor-{i}" for i in range(3)]
    before = (await shop.api("analytics"))["totals"]

    async def beacon(kind: str, visitor: str, note: str) -> None:
        body = orjson.dumps({"shop": shop.domain, "type": kind, "visitor": visitor, "notification_id": note})
        assert (await shop.http.post("/beacons", content=body)).status_code == 204

    await beacon("impression", visitors[0], "purchase-aa01")
    await beacon("impression", visitors[1], "trending-bb02")
    await beacon("click", visitors[1], "trending-bb02")
    soon = datetime.now(UTC) + timedelta(minutes=1)
    for visitor, total in zip(visitors, ("40.00", "60.00", "99.00"), strict=True):
        o = order(created_at=soon, rng=random.Random(total)) | {"total_price": total}
        o["note_attributes"] = [{"name": "_storepulse_visitor", "value": visitor}]
        await deliver(shop.http, webhook(ORDERS_CREATE, shop.domain, o))

    async def attributed() -> bool:
        return (await shop.api("analytics"))["totals"]["revenue"] == "100.00"

    await eventually(attributed, timeout=60, what="two attributed orders")
    await page.goto(shop.page("/analytics"))
    await expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    await expect(page.locator('[data-figure="impressions"]')).to_have_text(str(before["impressions"] + 2))
    await expect(page.locator('[data-figure="clicks"]')).to_have_text(str(before["clicks"] + 1))
    await expect(page.locator('[data-figure="orders"]')).to_have_text("2")
    await expect(page.locator('[data-figure="revenue"]')).to_have_text("100.00")
    await expect(page.locator('#kinds-table tr[data-kind="trending"]')).to_contain_text("60.00")
    await page.get_by_label("Shoppers held out (%)").fill("20")
    await page.get_by_role("button", name="Start a holdout experiment").click()
    await expect(page.locator("#experiment .badge")).to_have_text("Running")
    await expect(page.locator("#experiment .verdict").first).to_contain_text("Not enough data yet")
    assert await page.locator('#arms-table tr[data-arm="holdout"]').count() == 1

    async def audited() -> list[dict[str, Any]]:  # the audit log's own entry, not a settings save
        return (await shop.api("audit", action="experiment.started"))["entries"]

    [started] = await eventually(audited, timeout=20)
    assert [c["field"] for c in started["changes"]] == ["analytics.experiment"]
    await settle(page)
    await page.screenshot(path=artifact("admin-analytics.png"), full_page=True)


async def test_an_import_of_one_good_row_and_two_bad_ones_applies_one_and_names_the_two_reasons(
    shop: Shop, page: Page, tmp_path: Path
) -> None:
    file = tmp_path / "smile-members.csv"
    liam, unknown = shop.ids["Liam"], next_id()
    file.write_text(f"Customer ID,VIP Tier,Expires On\n{liam},vip,\n{unknown},VIP,\n{liam + 0},Diamond,\n")
    await page.goto(shop.page("/imports"))
    await page.get_by_label("CSV or JSON Lines file").set_input_files(str(file))
    await page.get_by_label("From which app").fill("Smile.io")
    await page.get_by_label("Dry run").uncheck()
    await page.get_by_role("button", name="Import").click()
    await expect(page.locator("[data-status]")).to_have_text("completed", timeout=20_000)
    await expect(page.locator("[data-rows-applied]")).to_have_text("1")
    rows = page.locator("#rejected-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("unknown customer")
    await expect(rows.nth(1)).to_contain_text("unknown tier")
    await settle(page)
    await page.screenshot(path=artifact("admin-import.png"), full_page=True)

    # The good row's customer holds the imported tier (one order would earn them none).
    async def held() -> bool:
        return (await shop.api(f"customers/{liam}"))["tier"] == "VIP"

    await eventually(held, timeout=20, what="the imported tier applied")
    await page.goto(shop.page(f"/customers/{liam}"))
    await expect(page.locator("[data-floor]")).to_contain_text("At least VIP for good")
    await expect(page.locator(".page-header .badge.vip")).to_contain_text("VIP")


async def test_pages_work_by_keyboard_and_fit_a_phone(shop: Shop, browser: Browser) -> None:
    context = await browser.new_context(viewport=MOBILE)
    page = await context.new_page()
    try:
        for path in ("/", "/customers", "/notifications"):
            name = path.strip("/") or "home"
            await page.goto(shop.page(path))
            await settle(page)
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
            await page.screenshot(path=artifact(f"admin-{name}-mobile.png"), full_page=True)
        # Tab from the top: the skip link first, then the app's navigation, each with a visible ring.
        await page.goto(shop.page("/customers"))
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        for _ in range(2):  # the brand, then the first item of the navigation
            await page.keyboard.press("Tab")
        focused = page.locator(":focus")
        assert await focused.inner_text() == "Home"
        outline = await focused.evaluate(
            "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
        )
        assert outline == "solid 2px"
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()
        # Every form control on the settings pages has a label.
        for path in ("/vip", "/notifications", "/customers"):
            await page.goto(shop.page(path))
            unlabelled = await page.evaluate(
                """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(e => e.offsetParent !== null)
                   .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                   .map(e => e.name)"""
            )
            assert unlabelled == [], (path, unlabelled)
    finally:
        await context.close()


async def test_pages_work_without_javascript(shop: Shop, browser: Browser) -> None:
    context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.goto(shop.page("/customers"))
        await page.get_by_label("Segment").select_option("lost")
        await page.get_by_role("button", name="Apply").click()
        await expect(cells(page, 1)).to_have_text(await names_of(shop, segment="lost"))
        await page.goto(shop.page("/vip"))
        await page.get_by_role("button", name="Preview changes").click()
        await expect(page.get_by_role("region", name="What these tiers would change")).to_be_visible()
        await page.goto(shop.page("/notifications"))
        await page.get_by_label("Minimum order value").fill("5")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("heading", name="Notifications saved")).to_be_visible()
        assert (await shop.api("settings"))["min_order_value"] == "5"
    finally:
        await context.close()


async def test_api_keys_are_made_shown_once_rotated_and_revoked(shop: Shop, page: Page) -> None:
    await page.goto(shop.page("/keys"))
    await page.get_by_label("Name").fill("Judge.me")
    await page.get_by_role("button", name="Make key").click()
    made = (await page.locator("[data-new-key]").text_content() or "").strip()
    assert made.startswith("spk_")
    row = page.locator("#keys-table tr", has_text="Judge.me")
    await expect(row).to_be_visible()
    await settle(page)
    await page.screenshot(path=artifact("admin-api-keys.png"), full_page=True)
    await page.goto(shop.page("/keys"))  # shown once: a later visit lists the name only
    await expect(page.locator("[data-new-key]")).to_have_count(0)
    assert made not in await page.content()

    await page.get_by_role("button", name="Rotate Judge.me").click()
    rotated = (await page.locator("[data-new-key]").text_content() or "").strip()
    assert rotated.startswith("spk_") and rotated != made
    await page.get_by_role("button", name="Revoke Judge.me").click()
    await expect(page.get_by_text("Key revoked")).to_be_visible()
    await expect(page.locator("#keys-table")).to_have_count(0)
    answer = await shop.http.post("/api/events", headers={"Authorization": f"Bearer {rotated}"}, json={})
    assert answer.status_code == 401
