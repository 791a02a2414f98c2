"""Signed carts/create and carts/update → "N people have this in their cart"."""

import httpx

from loadtests.payloads import CATALOG, cart, product, webhook
from shopify.topics import CARTS_CREATE, CARTS_UPDATE, PRODUCTS_CREATE
from tests.support.sse import listening
from tests.support.stack import Services
from tests.support.webhooks import deliver

HOODIE, RUNNER = CATALOG[0], CATALOG[1]


async def test_two_carts_holding_a_product_count_2_however_often_one_is_delivered(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(HOODIE)))
    first = cart([HOODIE, RUNNER])
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        created = webhook(CARTS_CREATE, shop, first)
        await deliver(ingest, created)
        await deliver(ingest, created)  # Shopify's retry
        await deliver(ingest, webhook(CARTS_UPDATE, shop, first))  # the same cart, updated
        # A shop's carts share one partition: the second cart's count comes after all of those.
        await deliver(ingest, webhook(CARTS_CREATE, shop, cart([HOODIE])))
        [note] = await sse.wait_for_kind("cart", 1, product=HOODIE[0])
    assert note["message"] == "2 people have Cloud Hoodie in their cart"
    assert note["title"] == "In carts now"
    assert sse.of_kind("cart", RUNNER[0]) == []  # one cart only: below cart_min
    assert "Secret-Lastname" not in "".join(e.data for e in sse.events)
