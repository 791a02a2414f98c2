"""Signed products/create and inventory_levels/update → `low_stock` and `back_in_stock`."""

from datetime import UTC, datetime, timedelta

import httpx

from loadtests.payloads import CATALOG, inventory_level, next_id, product, webhook
from shopify.topics import INVENTORY_LEVELS_UPDATE, PRODUCTS_CREATE
from storepulse.kafka_topics import TOPIC_PRODUCTS, item_key, partition_of
from tests.support.kafka import partition_count
from tests.support.sse import listening
from tests.support.stack import Services
from tests.support.webhooks import deliver

HOODIE, RUNNER = CATALOG[0], CATALOG[1]


def _level(shop: str, entry: tuple, available: int, at: datetime):
    return webhook(INVENTORY_LEVELS_UPDATE, shop, inventory_level(entry[0], available, updated_at=at))


async def test_low_stock_once_per_crossing_however_levels_are_repeated_or_reordered(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    t0 = datetime.now(UTC)
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(HOODIE, stock=20)))
        three_left = _level(shop, HOODIE, 3, t0 + timedelta(seconds=2))
        await deliver(ingest, three_left)
        [low] = await sse.wait_for_kind("low_stock", 1, product=HOODIE[0])
        await deliver(ingest, three_left)  # Shopify's retry
        await deliver(ingest, _level(shop, HOODIE, 9, t0 + timedelta(seconds=1)))  # stale, late
        await deliver(ingest, _level(shop, HOODIE, 2, t0 + timedelta(seconds=3)))  # still low
        # Sold out, then restocked: back in stock.
        await deliver(ingest, _level(shop, HOODIE, 0, t0 + timedelta(seconds=4)))
        await deliver(ingest, _level(shop, HOODIE, 7, t0 + timedelta(seconds=5)))
        [back] = await sse.wait_for_kind("back_in_stock", 1, product=HOODIE[0])
        # The shop's levels share one partition: once another product's low stock is shown,
        # everything delivered before it was processed.
        await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(RUNNER, stock=20)))
        await deliver(ingest, _level(shop, RUNNER, 1, t0 + timedelta(seconds=6)))
        await sse.wait_for_kind("low_stock", 1, product=RUNNER[0])
    assert low["message"] == "Only 3 left of Cloud Hoodie" and low["title"] == "Almost gone"
    assert back["message"] == "Cloud Hoodie is back in stock"
    assert len(sse.of_kind("low_stock", HOODIE[0])) == 1
    assert len(sse.of_kind("back_in_stock", HOODIE[0])) == 1
    assert sse.of_kind("low_stock", RUNNER[0])[0]["message"] == "Only 1 left of Trail Runner"


async def test_products_that_do_not_track_stock_are_never_announced(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    t0 = datetime.now(UTC)
    # A tracked product whose products/create shares the untracked one's partition, so the
    # catalog agent forwards it after the untracked one's: its toast is the later marker.
    partitions = await partition_count(services.stack, TOPIC_PRODUCTS)
    home = partition_of(item_key(shop, HOODIE[0]), partitions)
    mug_id = next(i for i in iter(next_id, None) if partition_of(item_key(shop, i), partitions) == home)
    mug = (mug_id, "Marker Mug", "marker-mug", "12.00")
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(HOODIE)))  # not tracked
        await deliver(ingest, _level(shop, HOODIE, 1, t0))
        await deliver(ingest, webhook(PRODUCTS_CREATE, shop, product(mug, stock=20)))
        await deliver(ingest, _level(shop, mug, 2, t0))
        await sse.wait_for_kind("low_stock", 1, product=mug_id)
    assert sse.of_kind("low_stock", HOODIE[0]) == [] and sse.of_kind("back_in_stock") == []
