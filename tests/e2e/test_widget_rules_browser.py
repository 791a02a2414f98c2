"""The shop's display rules, applied by the widget in real headless Chromium on the demo page:
where, on which device, when, which first and how it looks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from storepulse.contracts import Colours, Display, Notification, NotificationKind
from storepulse.devstack import Child
from tests.support.browser import artifact
from tests.support.push import note, publish, push_process
from tests.support.stack import Services
from tests.support.widget_page import RECORD_TOASTS, demo, toasts, wait_received, wait_toasts

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def push(services: Services) -> Iterator[Child]:
    with push_process(services.stack, "push-rules") as child:
        yield child


@pytest.fixture
async def visitor(browser: Browser) -> AsyncIterator[Any]:
    """Opens a page of a new visitor (a browser context of its own) at a viewport."""
    contexts = []

    async def open_page(viewport: dict[str, int] = DESKTOP) -> Page:
        context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        contexts.append(context)
        page = await context.new_page()
        await page.add_init_script(RECORD_TOASTS)
        return page

    yield open_page
    for context in contexts:
        await context.close()


def shown_as(
    shop: str, n: int, kind: NotificationKind = "purchase", *, age_s: int = 0, **rules: Any
) -> Notification:
    display = Display.model_validate({"position": "bottom-left", "gap_ms": 0, "max": 100, **rules})
    occurred = datetime.now(UTC) - timedelta(seconds=age_s)
    return note(shop, n, kind=kind).model_copy(update={"display": display, "occurred_at": occurred})


async def ids(page: Page) -> list[str]:
    return [t["id"] for t in await toasts(page)]


async def test_an_excluded_url_shows_nothing_and_an_included_one_does(
    services: Services, push: Child, visitor: Any, shop: str
) -> None:
    redis = services.stack.env["REDIS_URL"]
    await publish(redis, [shown_as(shop, 0, exclude=["*/collections/sale", "/demo/*/pages/*"])])
    page = await visitor()
    await page.goto(demo(push, shop, "/collections/sale"))
    await wait_received(page, "purchase-0")
    await publish(redis, [shown_as(shop, 1, exclude=["*/collections/sale"])])
    await wait_received(page, "purchase-1")  # a later marker: the widget decided on both
    assert await ids(page) == []
    await page.goto(demo(push, shop, "/collections/all"))
    assert [t["id"] for t in await wait_toasts(page, 2)] == ["purchase-0", "purchase-1"]


async def test_product_pages_only(services: Services, push: Child, visitor: Any, shop: str) -> None:
    await publish(services.stack.env["REDIS_URL"], [shown_as(shop, 0, pages="products")])
    page = await visitor()
    await page.goto(demo(push, shop, "/collections/all"))
    await wait_received(page, "purchase-0")
    assert await ids(page) == []
    await page.goto(demo(push, shop, "/products/cloud-hoodie"))
    await wait_toasts(page, 1)
    await page.goto(demo(push, shop, product_id=7001))  # a theme that names the product
    await wait_received(page, "purchase-0")  # replayed; shown once this visit, not again
    await publish(services.stack.env["REDIS_URL"], [shown_as(shop, 1, pages="products")])
    assert [t["id"] for t in await wait_toasts(page, 1)] == ["purchase-1"]


@pytest.mark.parametrize(
    "path", ["/checkouts/cn/Z2NwLXVzLWVhc3Q", "/checkouts/c/abc/thank_you", "/account/login", "/orders/9f2e"]
)
async def test_checkout_thank_you_and_account_pages_never_run_the_widget(
    services: Services, push: Child, visitor: Any, shop: str, path: str
) -> None:
    # Settings that would show a toast on every page: the hard rule is the widget's own.
    await publish(services.stack.env["REDIS_URL"], [shown_as(shop, 0, include=["*"])])
    page = await visitor()
    await page.goto(demo(push, shop, path))
    await page.wait_for_load_state("load")  # the async widget script has run by then
    assert await page.evaluate(
        "performance.getEntriesByType('resource').some(e => e.name.endsWith('/widget.js'))"
    )
    assert await page.evaluate("typeof window.StorePulse") == "undefined"
    assert await page.evaluate("window.__sources") == 0  # no stream opened
    assert await page.locator(".sp-root").count() == 0
    await page.goto(demo(push, shop, "/cart"))  # the same visitor on another page sees it
    await wait_toasts(page, 1)


async def test_each_device_uses_its_own_position_and_device_rules(
    services: Services, push: Child, visitor: Any, shop: str
) -> None:
    redis = services.stack.env["REDIS_URL"]
    await publish(redis, [shown_as(shop, 0, position="top-right", mobile_position="bottom")])
    desktop, phone = await visitor(DESKTOP), await visitor(PHONE)
    for page in (desktop, phone):
        await page.goto(demo(push, shop, duration_ms=60000))
        await page.locator(".sp-toast").wait_for()
    box = await desktop.locator(".sp-root").bounding_box()
    assert box and box["x"] > DESKTOP["width"] / 2 and box["y"] < DESKTOP["height"] / 4
    box = await phone.locator(".sp-root").bounding_box()
    assert box and box["y"] > PHONE["height"] / 2 and box["width"] > PHONE["width"] - 20  # bottom, full width
    await phone.wait_for_timeout(400)  # the slide-in animation
    await phone.screenshot(path=artifact("rules-mobile-bottom.png"))
    await publish(redis, [shown_as(shop, 1, mobile_position="top")])
    await phone.locator(".sp-toast[data-id='purchase-1']").wait_for()
    box = await phone.locator(".sp-root").bounding_box()
    assert box and box["y"] < PHONE["height"] / 4
    await phone.wait_for_timeout(400)
    await phone.screenshot(path=artifact("rules-mobile-top.png"))
    # Desktop only: the phone hears it and shows nothing; the desktop shows it.
    await publish(redis, [shown_as(shop, 2, devices="desktop")])
    await wait_received(phone, "purchase-2")
    await publish(redis, [shown_as(shop, 3, devices="desktop")])
    await wait_received(phone, "purchase-3")
    assert await ids(phone) == ["purchase-0", "purchase-1"]
    assert (await ids(desktop))[-2:] == ["purchase-2", "purchase-3"]


async def test_delay_priority_age_and_dismiss_pause(
    services: Services, push: Child, visitor: Any, shop: str
) -> None:
    redis = services.stack.env["REDIS_URL"]
    page = await visitor()
    await publish(redis, [shown_as(shop, 0, delay_ms=1500)])
    await page.goto(demo(push, shop, delay_ms=None, duration_ms=60000))
    first = (await wait_toasts(page, 1))[0]
    assert first["at"] >= 1500  # the page's clock starts at navigation
    # Held by a gap, a purchase, an over-age review and a fresh review queue up: the review,
    # of a higher priority, goes first; the one past its kind's maximum age never shows.
    rules = {"gap_ms": 1000, "priority": {"review": 5}, "max_age_s": {"review": 600}}
    await publish(redis, [shown_as(shop, 1, **rules)])
    await wait_toasts(page, 2)
    await publish(
        redis,
        [
            shown_as(shop, 2, **rules),
            shown_as(shop, 3, "review", age_s=3600, **rules),
            shown_as(shop, 4, "review", **rules),
        ],
    )
    await wait_toasts(page, 4)
    assert await ids(page) == ["purchase-0", "purchase-1", "review-4", "purchase-2"]
    # A dismissal pauses the toasts for the shop's pause, across pages of the visit.
    pause = {"dismiss_pause_ms": 600_000}
    await publish(redis, [shown_as(shop, 5, **pause)])
    await page.locator(".sp-toast[data-id='purchase-5']").wait_for()
    await page.locator(".sp-toast[data-id='purchase-5'] .sp-x").click()
    await publish(redis, [shown_as(shop, 6, **pause)])
    await wait_received(page, "purchase-6")
    await page.reload()
    await publish(redis, [shown_as(shop, 7, **pause)])
    await wait_received(page, "purchase-7")
    assert await ids(page) == []


async def test_dark_and_custom_themes_render_in_the_themes_font(
    services: Services, push: Child, visitor: Any, shop: str
) -> None:
    redis = services.stack.env["REDIS_URL"]
    page = await visitor()
    await page.goto(demo(push, shop, duration_ms=60000))
    await page.wait_for_function("window.StorePulse")
    await publish(redis, [shown_as(shop, 0, theme="dark")])
    toast = page.locator(".sp-toast[data-id='purchase-0']")
    await toast.wait_for()
    style = "t => { const s = getComputedStyle(t); return [s.backgroundColor, s.color, s.borderRadius]; }"
    assert await toast.evaluate(style) == ["rgb(31, 33, 36)", "rgb(241, 242, 243)", "12px"]
    body_font = await page.evaluate("getComputedStyle(document.body).fontFamily")
    assert await toast.evaluate("t => getComputedStyle(t).fontFamily") == body_font
    await page.wait_for_timeout(400)  # the slide-in animation
    await toast.screenshot(path=artifact("rules-theme-dark.png"))
    colours = Colours(background="#102a43", text="#f0f4f8", accent="#f7c948")
    await publish(redis, [shown_as(shop, 1, "trending", theme="custom", colours=colours, radius_px=2)])
    toast = page.locator(".sp-toast[data-id='trending-1']")
    await toast.wait_for()
    assert await toast.evaluate(style) == ["rgb(16, 42, 67)", "rgb(240, 244, 248)", "2px"]
    assert await toast.locator(".sp-icon").evaluate("i => getComputedStyle(i).color") == "rgb(247, 201, 72)"
    await page.wait_for_timeout(400)
    await toast.screenshot(path=artifact("rules-theme-custom.png"))
    await page.screenshot(path=artifact("rules-themes-page.png"))


async def test_a_page_view_shows_at_most_its_share_and_reduced_motion_drops_the_slide(
    services: Services, push: Child, browser: Browser, shop: str
) -> None:
    redis = services.stack.env["REDIS_URL"]
    context = await browser.new_context(reduced_motion="reduce")
    try:
        page = await context.new_page()
        await page.add_init_script(RECORD_TOASTS)
        await page.goto(demo(push, shop, duration_ms=60000))
        await page.wait_for_function("window.StorePulse")
        await publish(redis, [shown_as(shop, i, max_per_page=2) for i in range(3)])
        await wait_received(page, "purchase-2")
        await publish(redis, [shown_as(shop, 3, max_per_page=2)])
        await wait_received(page, "purchase-3")  # a later marker
        assert await ids(page) == ["purchase-0", "purchase-1"]
        animation = "t => getComputedStyle(t).animationName"
        assert await page.locator(".sp-toast").first.evaluate(animation) == "none"
        # The next page view gets its own two, from the replay, less what this visit has seen.
        await page.reload()
        assert [t["id"] for t in await wait_toasts(page, 2)] == ["purchase-2", "purchase-3"]
    finally:
        await context.close()
