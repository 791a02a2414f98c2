"""One webhook's id in every log line about it: ingest, the worker, and each push process's fan-out,
but never in what a storefront receives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from loadtests.payloads import CATALOG, Webhook, next_id, order, webhook
from shopify.topics import ORDERS_CREATE
from storepulse.devstack import Child, Stack, wait_ready
from tests.support.eventually import eventually
from tests.support.sse import listening
from tests.support.stack import worker_env
from tests.support.webhooks import deliver


@pytest.fixture(scope="module")
def debug_services(stack: Stack) -> Iterator[dict[str, Child]]:
    """ingest, a worker and push logging at debug, where each event's success lines are."""
    debug = {"LOG_LEVEL": "debug"}
    children = {
        "ingest": stack.start_service("ingest", extra_env=debug, name="ingest-debug"),
        # Only what this module sends: the session's earlier records are not its concern.
        "worker": stack.start_service(
            "worker",
            extra_env={**worker_env(), **debug, "STOREPULSE_CONSUMER_AUTO_OFFSET_RESET": "latest"},
            name="worker-debug",
        ),
        "push": stack.start_service("push", extra_env=debug, name="push-debug"),
    }
    try:
        for child in children.values():
            wait_ready(child.port, 60, child)
        yield children
    finally:
        for child in children.values():
            child.stop()


def logged(stack: Stack, child: Child, webhook_id: str) -> dict[str, dict[str, Any]]:
    """The JSON log lines of `child` whose `webhook_id` is `webhook_id`, by event (the last of each)."""
    log_file = stack.log(child.name)
    assert isinstance(log_file, Path)
    lines = (line for line in log_file.read_text().splitlines() if webhook_id in line)
    return {e["event"]: e for e in map(orjson.loads, lines) if e.get("webhook_id") == webhook_id}


async def test_a_webhooks_id_follows_it_from_ingest_through_the_worker_to_push(
    stack: Stack, debug_services: dict[str, Child], shop: str
) -> None:
    ingest, worker, push = (debug_services[n] for n in ("ingest", "worker", "push"))
    customer = next_id()
    hooks = [webhook(ORDERS_CREATE, shop, order(customer_id=customer, product=CATALOG[0])) for _ in range(3)]
    async with listening(f"http://127.0.0.1:{push.port}/sse/{shop}") as storefront:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest.port}") as client:
            for hook in hooks:  # the third makes the customer a VIP
                await deliver(client, hook)
        await storefront.wait_for_kind("purchase", 3, timeout=30)
    for event in storefront.events:
        assert "webhook_id" not in event.data and all(h.webhook_id not in event.data for h in hooks)

    # Another consumer group's worker may publish first: this one then logs the repeat, later.
    published = {"notification_published", "notification_repeated"}
    for hook in hooks:

        def traced(hook: Webhook = hook) -> bool:
            return (
                "webhook_accepted" in logged(stack, ingest, hook.webhook_id)
                and bool(published & set(logged(stack, worker, hook.webhook_id)))
                and "notification_delivered" in logged(stack, push, hook.webhook_id)
            )

        await eventually(traced, timeout=60, what=f"the lines of {hook.webhook_id} on every service")
        delivered = logged(stack, push, hook.webhook_id)["notification_delivered"]
        assert delivered["clients"] == 1 and delivered["shop"] == shop
    # The tier change the third order caused: its write-back (a dry run on this stack) names it.
    await eventually(
        lambda: "writeback_done" in logged(stack, worker, hooks[2].webhook_id),
        timeout=60,
        what="the write-back's line about the VIP order",
    )
