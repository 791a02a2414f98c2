"""Webhooks posted to ingest as Shopify posts them: signed with the app secret."""

from __future__ import annotations

from typing import Any

import httpx

from ingest.app import WEBHOOK_PATH
from loadtests.payloads import Webhook, webhook
from shopify.topics import ORDERS_CREATE
from tests.support.stack import SECRET


async def post(
    ingest: httpx.AsyncClient, hook: Webhook, secret: bytes = SECRET, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST `hook` signed with `secret`, or with exactly `headers` when given."""
    return await ingest.post(
        WEBHOOK_PATH, content=hook.body, headers=hook.headers(secret) if headers is None else headers
    )


async def deliver(ingest: httpx.AsyncClient, hook: Webhook) -> None:
    """POST `hook` signed, and require ingest to take it."""
    answer = await post(ingest, hook)
    assert answer.status_code == 200, answer.text


async def buy(ingest: httpx.AsyncClient, shop: str, payload: dict[str, Any]) -> None:
    """A signed orders/create of `payload` through ingest."""
    await deliver(ingest, webhook(ORDERS_CREATE, shop, payload))
