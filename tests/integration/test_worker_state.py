"""State that every worker must see and that must outlive a worker: shop settings, product
trends and customer metrics, with two workers of one group and a restart on the real broker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import orjson

from loadtests.payloads import CATALOG, order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Child, Stack, wait_ready
from storepulse.kafka_topics import item_key
from tests.support.eventually import eventually
from tests.support.kafka import produce
from tests.support.sse import listening
from tests.support.stack import ADMIN_AUTH, Services, worker_env
from tests.support.webhooks import deliver

PRODUCT = CATALOG[3]


def start_workers(stack: Stack, env: dict[str, str], *names: str) -> list[Child]:
    workers = [stack.start_service("worker", extra_env=env, name=name) for name in names]
    for worker in workers:
        wait_ready(worker.port, 90, worker)
    return workers


async def get_until(url: str, done: Callable[[httpx.Response], bool]) -> httpx.Response:
    """GET `url` until `done(response)` holds (the workers apply changes asynchronously)."""
    async with httpx.AsyncClient(headers=ADMIN_AUTH, timeout=10) as client:

        async def answer() -> httpx.Response | None:
            response = await client.get(url)
            return response if done(response) else None

        return await eventually(answer, timeout=20, what=f"GET {url} answering as expected")


async def produce_purchases(stack: Stack, topic: str, shop: str, order_ids: list[str]) -> None:
    """Purchases as the orders agent writes them (a record per partition and batch; here one
    purchase each), straight to this group's internal topic."""
    key = item_key(shop, PRODUCT[0])
    purchases = [
        {"shop": shop, "product_id": str(PRODUCT[0]), "order": order_id, "title": PRODUCT[1]}
        for order_id in order_ids
    ]
    now = datetime.now(UTC).timestamp()
    records = [(key, orjson.dumps({"purchases": [{**p, "at": now}]})) for p in purchases]
    # One table write per producer batch: Tansu under-reports the end offset of a
    # multi-record batch, so recovery would stop early (streams/runtime/faust_seam.py); Kafka does not.
    await produce(stack, topic, records, gap_s=0.5)


async def test_settings_reach_every_worker_and_state_survives_their_loss(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    env = worker_env()
    purchases_topic = f"{env['STOREPULSE_APP_ID']}-product-purchases"
    a, b = start_workers(services.stack, env, "worker-a", "worker-b")
    url_a, url_b = (f"http://127.0.0.1:{w.port}" for w in (a, b))
    rules = {"languages": ["es"], "trending_thresholds": [2, 3], "enabled_kinds": ["trending"]}
    async with httpx.AsyncClient(headers=ADMIN_AUTH, timeout=15) as client:
        # 202: the broker holds them but worker a's table had not read them back within 5 s (a
        # loaded machine); either way they arrive.
        assert (await client.put(f"{url_a}/shops/{shop}/settings", json=rules)).status_code in (200, 202)
    # A global table: the other worker has them too, whichever partition the shop is on.
    for url in (url_a, url_b):
        await get_until(f"{url}/shops/{shop}/settings", lambda r: r.json()["languages"] == ["es"])

    # Any worker answers for any customer: the one without the partition forwards.
    o = order(product=CATALOG[0])
    await deliver(ingest, webhook(ORDERS_CREATE, shop, o))
    for url in (url_a, url_b):
        found = await get_until(f"{url}/shops/{shop}/customers/{o['customer']['id']}", lambda r: r.is_success)
        assert found.json()["orders_count"] == 1

    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await produce_purchases(services.stack, purchases_topic, shop, ["p1", "p2"])
        [two] = await sse.wait_for_kind("trending", 1)
        for worker in (a, b):
            worker.stop()
        # A new worker of the group rebuilds the settings and the 24 h counts from the changelogs.
        [c] = start_workers(services.stack, env, "worker-c")
        await produce_purchases(services.stack, purchases_topic, shop, ["p1", "p3"])
        three = (await sse.wait_for_kind("trending", 2))[1]
        c.stop()
    assert two["message"] == f"2 personas compraron {PRODUCT[1]} en las últimas 24 horas"
    assert three["message"] == f"3 personas compraron {PRODUCT[1]} en las últimas 24 horas"
    assert len(sse.payloads()) == 2
