"""Live visitors of a store: page-view beacons through ingest's POST /beacons, the worker and
push. Forged visitor ids from one address and re-sent beacons do not count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import orjson

from tests.support.sse import listening
from tests.support.stack import Services, put_settings

STOREFRONT = {"Origin": "https://shop.example", "Content-Type": "text/plain;charset=UTF-8"}


async def page_view(ingest: httpx.AsyncClient, shop: str, address: str, visitor: str, **extra: str) -> None:
    body = orjson.dumps({"shop": shop, "type": "page_view", "visitor": visitor, **extra})
    answer = await ingest.post("/beacons", content=body, headers={**STOREFRONT, "X-Forwarded-For": address})
    assert answer.status_code == 204, answer.text


async def test_distinct_visitors_of_any_page_are_announced_once_and_forgeries_do_not_count(
    services: Services, shop: str
) -> None:
    assert (await put_settings(services, shop, visitors_min=5)).status_code == 200
    honest = [uuid.uuid4().hex for _ in range(2)]
    async with (
        listening(f"{services.push_url}/sse/{shop}") as sse,
        httpx.AsyncClient(base_url=services.ingest_url, timeout=10) as ingest,
    ):
        # One address inventing six visitors on the home page and a product page counts three.
        for _ in range(6):
            await page_view(ingest, shop, "198.51.100.60", uuid.uuid4().hex)
        # A visitor browsing several pages, and the widget re-sending a beacon, is one visitor.
        await page_view(ingest, shop, "198.51.100.61", honest[0], product_id="4242")
        await page_view(ingest, shop, "198.51.100.61", honest[0])
        await page_view(ingest, shop, "198.51.100.61", honest[0], id="resent-1")
        await page_view(ingest, shop, "198.51.100.61", honest[0], id="resent-1")
        # Four visitors so far: only the fifth, after this moment, reaches the shop's minimum.
        before_fifth = datetime.now(UTC)
        await page_view(ingest, shop, "198.51.100.62", honest[1], product_id="4343")
        [event] = await sse.wait_for_kind("visitors", 1)
        # The next visitor is not news: one announcement in five minutes. Its product viewers
        # (from two other visitors on the same shop partition) arrive after it, as the marker.
        await page_view(ingest, shop, "198.51.100.63", uuid.uuid4().hex, product_id="4444")
        await page_view(ingest, shop, "198.51.100.64", uuid.uuid4().hex, product_id="4444")
        await sse.wait_for_kind("viewing", 1, product="4444")
    assert event["message"] == "5 shoppers on the store right now"
    assert event["title"] == "Shopping now"
    assert event["product"] is None and event["actor"] is None
    assert datetime.fromisoformat(event["occurred_at"]) >= before_fifth
    assert len(sse.of_kind("visitors")) == 1
