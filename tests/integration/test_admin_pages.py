"""The app's pages as ingest serves them: App Bridge inside the Shopify admin only, nothing
from a CDN on the dev stack, static files cached by content."""

from __future__ import annotations

import re

from admin.page_view import NAV
from tests.fake_shopify import FakeShopify
from tests.support.ingest import in_process_ingest
from tests.support.merchant_app import app_settings
from tests.support.stack import Services, new_shop_domain

APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"


async def home_page(services: Services, fake: FakeShopify, *, dev: bool) -> str:
    async with in_process_ingest(app_settings(services, fake, dev_auto_install=dev)) as app:
        page = await app.get("/app/", params={"id_token": fake.session_token(new_shop_domain())})
        assert page.status_code == 200, page.text
        css = await app.get(re.search(r'href="(/app/static/admin\.css\?v=\w+)"', page.text)[1])
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        return page.text


async def test_inside_the_shopify_admin_pages_load_app_bridge_first(
    services: Services, fake: FakeShopify
) -> None:
    html = await home_page(services, fake, dev=False)
    head = html.split("</head>")[0]
    assert f'<meta name="shopify-api-key" content="{fake.client_id}">' in head
    assert re.findall(r'<script[^>]*src="([^"]+)"', head)[0] == APP_BRIDGE  # first, not async
    assert re.search(r"<ui-nav-menu>.*?</ui-nav-menu>", html, re.S)[0].count('href="/app/') == len(NAV)


async def test_on_the_dev_stack_pages_load_nothing_from_elsewhere(
    services: Services, fake: FakeShopify
) -> None:
    html = await home_page(services, fake, dev=True)
    assert "shopify-api-key" not in html and "ui-nav-menu" not in html
    sources = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert all(s.startswith("https://test-") for s in sources), sources  # only links to the shop's admin
