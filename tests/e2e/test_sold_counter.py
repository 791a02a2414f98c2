"""The theme block's sold counter: signed orders/create webhooks through ingest and the worker
to push's public `GET /counters/{shop}/{product_id}`. All real processes: ingest, worker, push."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, Response

from loadtests.payloads import CATALOG, next_id, order
from tests.support.browser import artifact
from tests.support.eventually import eventually
from tests.support.sse import listening
from tests.support.stack import Services, install_shop, new_shop_domain, put_settings
from tests.support.webhooks import buy

RUNNER, TOTE = CATALOG[1], CATALOG[2]
BLOCK = Path(__file__).parents[2] / "extensions/storepulse-embed/blocks/sold-counter.liquid"


async def sold_24h(push: httpx.AsyncClient, shop: str, product_id: int) -> int:
    answer = await push.get(f"/counters/{shop}/{product_id}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "public, max-age=30"
    return int(answer.json()["sold_24h"])


async def test_sold_counter_counts_each_order_once_per_shop(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    # The fourth order reaches the trending threshold: its notification follows the sold write
    # of every order before it (one buyer, so one partition, in delivery order).
    assert (await put_settings(services, shop, trending_thresholds=[4])).status_code == 200
    buyer = next_id()
    orders = [order(customer_id=buyer, product=RUNNER) for _ in range(4)]
    async with (
        listening(f"{services.push_url}/sse/{shop}") as sse,
        httpx.AsyncClient(base_url=services.push_url, timeout=10) as push,
    ):
        assert await sold_24h(push, shop, RUNNER[0]) == 0
        for o in [*orders[:3], orders[0], orders[1], orders[3]]:  # Shopify re-delivers two
            await buy(ingest, shop, o)
        [trending] = await sse.wait_for_kind("trending", 1)
        assert trending["message"] == "4 people bought Trail Runner in the last 24 hours"
        assert await sold_24h(push, shop, RUNNER[0]) == 4
        assert await sold_24h(push, shop, TOTE[0]) == 0

        other = new_shop_domain()
        await install_shop(services.stack, other)
        assert await sold_24h(push, other, RUNNER[0]) == 0  # another shop's orders stay its own

        cors = await push.get(f"/counters/{shop}/{RUNNER[0]}", headers={"Origin": "https://shop.example"})
        assert cors.headers["access-control-allow-origin"] == "*"

        unknown = await push.get(f"/counters/{new_shop_domain()}/{RUNNER[0]}")
        assert unknown.status_code == 404 and unknown.json() == {"error": "unknown shop"}
        assert unknown.headers["cache-control"] == "no-store"
        not_a_shop = await push.get(f"/counters/evil.example.com/{RUNNER[0]}")
        assert not_a_shop.status_code == 404
        for bad in ("abc", "0", "12x", "gid:--shopify--Product--1"):
            malformed = await push.get(f"/counters/{shop}/{bad}")
            assert malformed.status_code == 400, bad
            assert "product_id" in malformed.json()["error"]


def rendered_block(push_url: str, shop: str, product_id: int, min_sold: int) -> str:
    """The block as Shopify renders it on a product page: only the few expressions it uses, each
    `| json`; anything else left in the source fails the test instead of rendering wrong."""
    source = re.sub(
        r"{%- comment -%}.*?{%- endcomment -%}|{% schema %}.*?{% endschema %}",
        "",
        BLOCK.read_text(),
        flags=re.S,
    )
    values = {
        "block.settings.push_url": push_url,
        "block.settings.min_sold": min_sold,
        "block.settings.text": "[count] sold in the last 24 hours",
        "shop.permanent_domain": shop,
        "product.id": product_id,
    }
    for name, value in values.items():
        source = source.replace(f"{{{{ {name} | json }}}}", json.dumps(value))
    source = source.replace("{%- if product -%}", "").replace("{%- endif -%}", "")
    assert "{{" not in source and "{%" not in source, source
    return source


async def test_theme_block_shows_the_count_on_a_product_page_and_hides_below_its_minimum(
    services: Services, ingest: httpx.AsyncClient, shop: str, browser: Browser
) -> None:
    assert (await put_settings(services, shop, trending_thresholds=[2])).status_code == 200
    buyer = next_id()
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        for _ in range(2):
            await buy(ingest, shop, order(customer_id=buyer, product=RUNNER))
        await sse.wait_for_kind("trending", 1)  # follows both orders' sold writes
    page = await browser.new_page(viewport={"width": 640, "height": 320})
    try:
        # A page of push's own origin, as a storefront is of the shop's (the counter allows any).
        await page.goto(f"{services.push_url}/demo/{shop}")
        product_page = """<!doctype html><html><body style="font: 16px sans-serif; padding: 24px">
          <h1>Trail Runner</h1><p>$120.00</p>{hidden}{shown}</body></html>"""
        answered: list[Response] = []
        page.on("response", lambda r: answered.append(r) if "/counters/" in r.url else None)
        await page.set_content(
            product_page.format(
                hidden=rendered_block(services.push_url, shop, RUNNER[0], 3),  # 2 sold: below 3
                shown=rendered_block(services.push_url, shop, RUNNER[0], 1),
            )
        )
        counters = page.locator("[data-storepulse-sold]")
        shown = counters.nth(1)
        await eventually(shown.is_visible, what="the sold counter")
        assert await shown.text_content() == "2 sold in the last 24 hours"
        # The block below its minimum got its answer too (the first fetch), and stays hidden.
        await eventually(lambda: len(answered) == 2, what="both counter answers")
        assert all(r.headers["cache-control"] == "public, max-age=30" for r in answered)
        assert await counters.nth(0).is_hidden() and await counters.nth(0).text_content() == ""
        await page.screenshot(path=artifact("sold-counter.png"))
    finally:
        await page.close()
