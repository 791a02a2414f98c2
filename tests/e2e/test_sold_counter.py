"""The theme block's sold counter: signed orders/create webhooks through ingest and the worker
to push's public `GET /counters/{shop}/{product_id}`. All real processes: ingest, worker, push."""

from __future__ import annotations

import httpx

from loadtests.payloads import CATALOG, next_id, order
from tests.e2e.test_rules_and_trends import buy, put_settings
from tests.support.sse import listening
from tests.support.stack import Services, install_shop, new_shop_domain

RUNNER, TOTE = CATALOG[1], CATALOG[2]


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
