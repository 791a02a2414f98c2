"""Every metric docs/operations.md documents shows on its service once traffic went through, and
counts that traffic; a worker reports its consumer lag while a backlog waits for it."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loadtests.payloads import CATALOG, next_id, order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Stack
from storepulse.kafka_topics import TOPIC_ORDERS, item_key
from tests.support.eventually import eventually
from tests.support.kafka import partition_count, produce, produce_webhooks
from tests.support.metrics import documented_metrics, metric, metrics_text, sampled
from tests.support.sse import listening
from tests.support.stack import Services, new_shop_domain, worker_env
from tests.support.webhooks import deliver, post

LAG = "storepulse_worker_consumer_lag"
# What one VIP's three orders move on each service.
COUNTED = {
    "ingest": {("storepulse_ingest_webhooks_accepted_total", (("topic", ORDERS_CREATE),)): 3},
    "worker": {
        ("storepulse_worker_orders_processed_total", ()): 3,
        ("storepulse_worker_notifications_published_total", (("kind", "purchase"),)): 3,
        ("storepulse_worker_tier_changes_total", (("change", "gained"),)): 1,
        ("storepulse_worker_writebacks_total", (("outcome", "dry_run"),)): 1,  # the stack writes no tags
        ("storepulse_worker_batch_size_sum", (("agent", "orders"),)): 3,
        ("storepulse_worker_dead_letters_total", (("topic", TOPIC_ORDERS),)): 1,  # a record not JSON
    },
    "push": {("storepulse_push_messages_delivered_total", ()): 3},
}


def service_urls(services: Services) -> dict[str, str]:
    return {"ingest": services.ingest_url, "worker": services.worker_url, "push": services.push_url}


async def counts(services: Services) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    urls = service_urls(services)
    return {
        service: {key: await metric(urls[service], key[0], dict(key[1])) for key in wanted}
        for service, wanted in COUNTED.items()
    }


async def test_every_documented_metric_shows_once_traffic_went_through_and_counts_it(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    before = await counts(services)
    vip = next_id()
    async with listening(f"{services.push_url}/sse/{shop}") as storefront:
        for _ in range(3):  # the third order makes the customer a VIP
            await deliver(ingest, webhook(ORDERS_CREATE, shop, order(customer_id=vip, product=CATALOG[0])))
        assert (await post(ingest, webhook(ORDERS_CREATE, shop, order()), b"wrong")).status_code == 401
        await produce(services.stack, TOPIC_ORDERS, [(item_key(shop, next_id()), b"not an envelope")])
        assert (await post(ingest, webhook(ORDERS_CREATE, new_shop_domain(), order()))).status_code == 200
        async with httpx.AsyncClient() as http:  # a storefront of a shop that never installed us
            assert (await http.get(f"{services.push_url}/sse/{new_shop_domain()}")).status_code == 404
        await storefront.wait_for_kind("purchase", 3, timeout=30)

    async def counted() -> bool:
        now = await counts(services)
        return all(
            now[service][key] - before[service][key] >= moved
            for service, wanted in COUNTED.items()
            for key, moved in wanted.items()
        )

    await eventually(counted, timeout=30, what="the traffic counted on every service")
    missing: dict[str, set[str]] = {}

    async def all_shown() -> bool:
        """Every service's documented metrics have samples (the lag once the group committed)."""
        for service, url in service_urls(services).items():
            shown = sampled(await metrics_text(url))
            documented = {name for name, (of, _) in documented_metrics().items() if of == service}
            missing[service] = {name for name in documented if not shown.get(name)}
        return not any(missing.values())

    await eventually(all_shown, timeout=10, what=lambda: f"every documented metric sampled: {missing}")


def lag_by_partition(text: str, topic: str) -> dict[str, float]:
    return {
        sample.labels["partition"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == LAG
        for sample in family.samples
        if sample.labels["topic"] == topic
    }


async def test_a_worker_reports_lag_while_a_backlog_waits_and_none_once_it_caught_up(
    stack: Stack, shop: str
) -> None:
    # Orders waiting before the worker of a new consumer group starts (it reads from the start).
    await produce_webhooks(stack, [(ORDERS_CREATE, shop, order()) for _ in range(10_000)])
    worker = stack.start_service("worker", extra_env=worker_env(), name="worker-lag")
    base = f"http://127.0.0.1:{worker.port}"

    async def lag_now() -> dict[str, float]:
        try:
            return lag_by_partition(await metrics_text(base), TOPIC_ORDERS)
        except httpx.HTTPError:
            return {}  # not listening yet

    async def behind() -> float:
        return sum((await lag_now()).values())

    try:
        await eventually(behind, timeout=90, every=0.05, what="lag reported on shopify.orders")
        partitions = {str(p) for p in range(await partition_count(stack, TOPIC_ORDERS))}

        async def caught_up() -> bool:
            lag = await lag_now()
            return set(lag) == partitions and not any(lag.values())

        await eventually(caught_up, timeout=120, every=0.2, what="every partition at lag 0")
    finally:
        worker.stop()
