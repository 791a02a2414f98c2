"""ingest's JSON logs carry the webhook id as correlation id and nothing secret or personal."""

import httpx
import orjson

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from tests.support.eventually import eventually
from tests.support.stack import SECRET, Services, new_shop_domain
from tests.support.webhooks import post


async def test_logs_correlate_by_webhook_id_and_hold_no_secrets(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    refused = webhook(ORDERS_CREATE, shop, order())
    dropped = webhook(ORDERS_CREATE, new_shop_domain(), order())  # a shop that never installed us
    bad = await post(ingest, refused, b"wrong")
    ok = await post(ingest, dropped)
    assert (bad.status_code, ok.status_code) == (401, 200)

    log_file = services.stack.log("ingest")
    assert log_file is not None

    def both_logged() -> str | None:  # the log line is written after the answer
        text = log_file.read_text()
        return text if dropped.webhook_id in text and refused.webhook_id in text else None

    text = await eventually(both_logged, timeout=5)
    events = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    by_id = {e.get("webhook_id"): e for e in events}
    assert by_id[refused.webhook_id]["event"] == "webhook_rejected"
    assert by_id[refused.webhook_id]["reason"] == "bad_signature"
    assert by_id[dropped.webhook_id]["event"] == "webhook_dropped"
    for secret in (SECRET.decode(), "buyer@example.com", "Secret-Lastname", "Private Street", "+1-555-0100"):
        assert secret not in text
