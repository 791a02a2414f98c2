"""ingest's JSON logs carry the webhook id as correlation id and nothing secret or personal."""

from typing import Any

import httpx
import orjson

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from tests.support.eventually import eventually
from tests.support.stack import SECRET, Services, new_shop_domain
from tests.support.webhooks import post


async def logged(services: Services, *webhook_ids: str) -> tuple[str, list[dict[str, Any]]]:
    """ingest's log once it names every one of `webhook_ids`, and its JSON events."""
    log_file = services.stack.log("ingest")
    assert log_file is not None

    def all_logged() -> str | None:  # the log line is written after the answer
        text = log_file.read_text()
        return text if all(i in text for i in webhook_ids) else None

    text = await eventually(all_logged, timeout=5)
    return text, [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_logs_correlate_by_webhook_id_and_hold_no_secrets(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    refused = webhook(ORDERS_CREATE, shop, order())
    dropped = webhook(ORDERS_CREATE, new_shop_domain(), order())  # a shop that never installed us
    bad = await post(ingest, refused, b"wrong")
    ok = await post(ingest, dropped)
    assert (bad.status_code, ok.status_code) == (401, 200)

    text, events = await logged(services, dropped.webhook_id, refused.webhook_id)
    by_id = {e.get("webhook_id"): e for e in events}
    assert by_id[refused.webhook_id]["event"] == "webhook_rejected"
    assert by_id[refused.webhook_id]["reason"] == "bad_signature"
    assert by_id[dropped.webhook_id]["event"] == "webhook_dropped"
    for secret in (SECRET.decode(), "buyer@example.com", "Secret-Lastname", "Private Street", "+1-555-0100"):
        assert secret not in text


async def test_header_values_enter_the_logs_capped(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    """Headers are not signed: an unauthenticated caller must not be able to fill the logs."""
    unsigned = webhook(ORDERS_CREATE, shop, order())
    long_id = unsigned.webhook_id + "A" * 5000
    odd_topic = webhook("carts/" + "B" * 5000, shop, {"id": 1})  # signed, but no topic we take
    bad = await post(
        ingest, unsigned, headers={**unsigned.headers(b"wrong"), "X-Shopify-Webhook-Id": long_id}
    )
    ignored = await post(ingest, odd_topic)
    assert (bad.status_code, ignored.status_code) == (401, 200)

    text, events = await logged(services, unsigned.webhook_id, odd_topic.webhook_id)
    [rejected] = [e for e in events if e.get("webhook_id", "").startswith(unsigned.webhook_id)]
    assert rejected["reason"] == "bad_signature" and len(rejected["webhook_id"]) == 64
    [dropped] = [e for e in events if e.get("webhook_id") == odd_topic.webhook_id]
    assert dropped["reason"] == "unknown_topic" and len(dropped["topic"]) == 64
    assert "A" * 100 not in text and "B" * 100 not in text
