"""The widget's measurement in headless Chromium: the cart attribute, consent, the holdout's ghost
impressions and the offline beacon queue, against the running services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route

from storepulse.contracts import Experiment, Holdout
from storepulse.devstack import Child
from streams.domain.arms import HOLDOUT, arm_of
from tests.support.browser import artifact
from tests.support.eventually import eventually
from tests.support.kafka import consume_beacons
from tests.support.push import note, publish, push_process
from tests.support.stack import Services

pytestmark = pytest.mark.browser

RECORD = """
window.__toasts = [];
document.addEventListener("storepulse:toast", e => __toasts.push(e.detail.id));
"""
NO_CONSENT = "window.Shopify = {customerPrivacy: {analyticsProcessingAllowed: () => false}};"


@pytest.fixture(scope="module")
def push(services: Services) -> Iterator[Child]:
    with push_process(
        services.stack, "push-analytics", STOREPULSE_PUBLIC_INGEST_URL=services.ingest_url
    ) as child:
        yield child


class Storefront:
    """One visitor's browser on the demo page, its cart stubbed, its requests recorded."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context, self.page = context, page
        self.cart_updates: list[dict[str, Any]] = []
        self.beacon_requests: list[str] = []

    async def stub_cart(self, route: Route) -> None:
        self.cart_updates.append(orjson.loads(route.request.post_data or "{}"))
        await route.fulfill(status=200, content_type="application/json", body='{"attributes": {}}')


@pytest.fixture
async def storefront(browser: Browser) -> AsyncIterator[Storefront]:
    context = await browser.new_context()
    page = await context.new_page()
    front = Storefront(context, page)
    await page.add_init_script(RECORD)
    await page.route("**/cart/update.js", front.stub_cart)
    page.on("request", lambda r: front.beacon_requests.append(r.url) if r.url.endswith("/beacons") else None)
    yield front
    await context.close()


def demo(push: Child, shop: str) -> str:
    return f"http://127.0.0.1:{push.port}/demo/{shop}?gap-ms=0"


async def toast_ids(page: Page) -> list[str]:
    return await page.evaluate("window.__toasts")


async def shows(page: Page, notification_id: str) -> None:
    async def shown() -> bool:
        return notification_id in await toast_ids(page)

    await eventually(shown, timeout=20, every=0.05, what=f"{notification_id} shown")


async def test_the_visitor_id_goes_into_the_cart_once_a_session(
    services: Services, push: Child, storefront: Storefront, shop: str
) -> None:
    page = storefront.page
    await publish(services.stack.env["REDIS_URL"], [note(shop, 0)])
    await page.goto(demo(push, shop))
    await shows(page, "purchase-0")

    async def tagged() -> bool:
        return len(storefront.cart_updates) == 1

    await eventually(tagged, timeout=20)
    visitor = await page.evaluate("localStorage.getItem('storepulse:visitor')")
    assert storefront.cart_updates == [{"attributes": {"_storepulse_visitor": visitor}}]
    # Another page of the same session (a toast is shown once a visit: it shows the next one);
    # its page view is the marker that the widget ran again.
    await page.reload()
    await publish(services.stack.env["REDIS_URL"], [note(shop, 1)])  # live or replayed, it shows
    await shows(page, "purchase-1")
    beacons = await consume_beacons(services.stack, shop, count=3)
    assert [b["type"] for b in beacons].count("page_view") == 2
    assert len(storefront.cart_updates) == 1


async def test_without_consent_toasts_show_but_nothing_is_measured(
    services: Services, push: Child, storefront: Storefront, shop: str
) -> None:
    page = storefront.page
    await page.add_init_script(NO_CONSENT)
    await publish(services.stack.env["REDIS_URL"], [note(shop, 0)])
    await page.goto(demo(push, shop))
    # The impression beacon would go out as the toast renders, in the same step.
    await shows(page, "purchase-0")
    await page.locator(".sp-toast").first.wait_for()
    await page.screenshot(path=artifact("widget-no-consent.png"))
    assert storefront.beacon_requests == []
    assert storefront.cart_updates == []
    assert await page.evaluate("localStorage.getItem('storepulse:visitor')") is None


async def test_the_holdout_sees_nothing_but_reports_ghost_impressions(
    services: Services, push: Child, storefront: Storefront, shop: str
) -> None:
    exp = Experiment(id=f"exp-{uuid.uuid4().hex[:6]}", started_at=datetime.now(UTC), holdout_pct=50)
    visitor = next(v for v in (f"visitor-{i:06d}" for i in range(1000)) if arm_of(exp, v) == HOLDOUT)
    page = storefront.page
    await page.add_init_script(
        f"localStorage.setItem('storepulse:visitor', {orjson.dumps(visitor).decode()})"
    )
    held = note(shop, 1).model_copy(update={"experiment": Holdout(id=exp.id, holdout_pct=exp.holdout_pct)})
    await publish(services.stack.env["REDIS_URL"], [held])
    await page.goto(demo(push, shop))
    ghosts = await consume_beacons(services.stack, shop, count=2)
    assert {b["type"] for b in ghosts} == {"page_view", "ghost_impression"}
    ghost = next(b for b in ghosts if b["type"] == "ghost_impression")
    assert ghost["visitor"] == visitor and ghost["notification_id"] == "purchase-1"
    assert await toast_ids(page) == []  # the widget decided on it: the ghost went out instead
    assert await page.locator(".sp-toast").count() == 0


async def test_beacons_sent_offline_arrive_once_back_online(
    services: Services, push: Child, storefront: Storefront, shop: str
) -> None:
    page = storefront.page
    await publish(services.stack.env["REDIS_URL"], [note(shop, 0)])
    await page.goto(demo(push, shop))
    await shows(page, "purchase-0")
    await consume_beacons(services.stack, shop, count=2)  # page view and impression, online
    await storefront.context.set_offline(True)
    await page.locator(".sp-toast .sp-x").first.click()  # a dismissal while offline

    async def queued() -> bool:
        kept = await page.evaluate(f"JSON.parse(localStorage.getItem('storepulse:outbox:{shop}') || '[]')")
        return [b["type"] for b in kept] == ["dismiss"]

    await eventually(queued, timeout=20, what="the dismissal kept in the outbox")
    await storefront.context.set_offline(False)

    async def emptied() -> bool:
        return await page.evaluate(f"localStorage.getItem('storepulse:outbox:{shop}')") == "[]"

    await eventually(emptied, timeout=20, what="the outbox sent")
    beacons = await consume_beacons(services.stack, shop, count=3)
    assert sorted(b["type"] for b in beacons) == ["dismiss", "impression", "page_view"]
