"""The demo store page as the widget's browser tests drive it: what the widget showed and when,
and what its connection received."""

from __future__ import annotations

from playwright.async_api import Page

from storepulse.devstack import Child, Stack
from tests.support.eventually import eventually
from tests.support.push import note, publish

# Collects what the widget shows, with when, as a user would see it happen; and what its
# connection received, heard before the widget hears it (the widget decides on each one at once).
RECORD_TOASTS = """
window.__toasts = [];
document.addEventListener("storepulse:toast", e => __toasts.push({id: e.detail.id, at: performance.now()}));
window.__received = [];
window.__sources = 0;
const NativeEventSource = window.EventSource;
window.EventSource = function (url, init) {
  const source = new NativeEventSource(url, init);
  __sources++;
  source.addEventListener("notification", e => __received.push(JSON.parse(e.data).id));
  return source;
};
"""


def demo(push: Child, shop: str, path: str = "", delay_ms: int | None = 0, **options: str | int) -> str:
    """The demo store page at `path`, its widget pinned to no delay before a first toast
    (`delay_ms=None`: the shop's delay) and to the other options given."""
    pins = options if delay_ms is None else {"delay_ms": delay_ms, **options}
    query = "&".join(f"{k.replace('_', '-')}={v}" for k, v in pins.items())
    return f"http://127.0.0.1:{push.port}/demo/{shop}{path}?{query}"


async def open_demo(page: Page, stack: Stack, push: Child, shop: str, **options: str | int) -> None:
    """The demo page, once it shows a first notification: connected before the test goes on."""
    await publish(stack.env["REDIS_URL"], [note(shop, 0)])
    await page.goto(demo(push, shop, **options))
    await wait_toasts(page, 1)


async def toasts(page: Page) -> list[dict]:
    return await page.evaluate("window.__toasts")


async def wait_toasts(page: Page, count: int, timeout: float = 20) -> list[dict]:
    async def enough() -> bool:
        return len(await toasts(page)) >= count

    await eventually(enough, timeout=timeout, every=0.02, what=f"{count} toasts")
    return await toasts(page)


async def wait_received(page: Page, notification_id: str, timeout: float = 20) -> None:
    """Until the page's connection got `notification_id`: the widget has then decided on it."""

    async def received() -> bool:
        return notification_id in await page.evaluate("window.__received")

    await eventually(received, timeout=timeout, every=0.02, what=f"{notification_id} received")


async def past_gap_after_last_toast(page: Page, gap_ms: int) -> None:
    """Until the page's clock is `gap_ms` past its last toast: pacing holds nothing back after that.

    With a margin: the widget starts its gap only once the toast is rendered, after it was recorded.
    """
    await page.wait_for_function(f"performance.now() > window.__toasts.at(-1).at + {gap_ms} + 100")
