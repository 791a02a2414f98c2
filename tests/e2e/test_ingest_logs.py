"""ingest's JSON logs carry the webhook id as correlation id and nothing secret or personal."""

import asyncio

import httpx
import orjson

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from tests.conftest import SECRET, Services, new_shop_domain


async def test_logs_correlate_by_webhook_id_and_hold_no_secrets(services: Services, shop: str) -> None:
    refused = webhook(ORDERS_CREATE, shop, order())
    dropped = webhook(ORDERS_CREATE, new_shop_domain(), order())  # a shop that never installed us
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:
        bad = await client.post("/webhooks/shopify", content=refused.body, headers=refused.headers(b"wrong"))
        ok = await client.post("/webhooks/shopify", content=dropped.body, headers=dropped.headers(SECRET))
    assert (bad.status_code, ok.status_code) == (401, 200)

    log_file = services.stack.log("ingest")
    assert log_file is not None
    for _ in range(50):  # the log line is written after the answer
        text = log_file.read_text()
        if dropped.webhook_id in text and refused.webhook_id in text:
            break
        await asyncio.sleep(0.1)
    events = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    by_id = {e.get("webhook_id"): e for e in events}
    assert by_id[refused.webhook_id]["event"] == "webhook_rejected"
    assert by_id[refused.webhook_id]["reason"] == "bad_signature"
    assert by_id[dropped.webhook_id]["event"] == "webhook_dropped"
    for secret in (SECRET.decode(), "buyer@example.com", "Secret-Lastname", "Private Street", "+1-555-0100"):
        assert secret not in text


async def test_header_values_enter_the_logs_capped(services: Services, shop: str) -> None:
    """Headers are not signed: an unauthenticated caller must not be able to fill the logs."""
    unsigned = webhook(ORDERS_CREATE, shop, order())
    long_id = unsigned.webhook_id + "A" * 5000
    odd_topic = webhook("carts/" + "B" * 5000, shop, {"id": 1})  # signed, but no topic we take
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:
        bad = await client.post(
            "/webhooks/shopify",
            content=unsigned.body,
            headers={**unsigned.headers(b"wrong"), "X-Shopify-Webhook-Id": long_id},
        )
        ignored = await client.post(
            "/webhooks/shopify", content=odd_topic.body, headers=odd_topic.headers(SECRET)
        )
    assert (bad.status_code, ignored.status_code) == (401, 200)

    log_file = services.stack.log("ingest")
    assert log_file is not None
    for _ in range(50):  # the log line is written after the answer
        text = log_file.read_text()
        if unsigned.webhook_id in text and odd_topic.webhook_id in text:
            break
        await asyncio.sleep(0.1)
    events = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    [rejected] = [e for e in events if e.get("webhook_id", "").startswith(unsigned.webhook_id)]
    assert rejected["reason"] == "bad_signature" and len(rejected["webhook_id"]) == 64
    [dropped] = [e for e in events if e.get("webhook_id") == odd_topic.webhook_id]
    assert dropped["reason"] == "unknown_topic" and len(dropped["topic"]) == 64
    assert "A" * 100 not in text and "B" * 100 not in text
