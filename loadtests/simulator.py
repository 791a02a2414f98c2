"""The dev stack's webhook simulator: signed orders for a demo shop every few seconds."""

from __future__ import annotations

import asyncio
import random

import httpx
import structlog

from loadtests.payloads import CATALOG, order, product, webhook
from shopify.topics import ORDERS_CREATE, PRODUCTS_CREATE

log = structlog.get_logger(__name__)


async def simulate(
    ingest_url: str, shop: str, secret: bytes, *, every_s: float = 4.0, count: int | None = None
) -> None:
    """Publish the demo catalog once, then send `count` orders (forever when None)."""
    rng = random.Random()
    customers = [rng.randint(10**12, 10**13) for _ in range(8)]
    async with httpx.AsyncClient(base_url=ingest_url, timeout=10) as client:
        for entry in CATALOG:
            hook = webhook(PRODUCTS_CREATE, shop, product(entry))
            await client.post("/webhooks/shopify", content=hook.body, headers=hook.headers(secret))
        sent = 0
        while count is None or sent < count:
            hook = webhook(ORDERS_CREATE, shop, order(customer_id=rng.choice(customers), rng=rng))
            try:
                answer = await client.post(
                    "/webhooks/shopify", content=hook.body, headers=hook.headers(secret)
                )
                log.info("simulator_sent", status=answer.status_code)
            except httpx.HTTPError as exc:
                log.warning("simulator_failed", error=str(exc))
            sent += 1
            await asyncio.sleep(rng.uniform(every_s * 0.5, every_s * 1.5))
