"""A sync run in the test process against a stack and the fake Shopify: the worker's `SyncRuns`
with its own producer and Admin API client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as redis

from ingest.producer import DurableProducer
from ingest.sync_runs import SyncRuns
from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from storepulse import redis_keys
from storepulse.devstack import Stack
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry, token_cipher
from streams.domain.standing import read_row
from tests.fake_shopify import FakeShopify
from tests.support.kafka import bootstrap


@dataclass
class Clients:
    settings: Settings
    api: AdminApi
    producer: DurableProducer
    runs: SyncRuns


@contextlib.asynccontextmanager
async def sync_clients(
    stack: Stack, fake: FakeShopify, client: redis.Redis, **settings: Any
) -> AsyncIterator[Clients]:
    """`SyncRuns` (and its API client and producer) on `stack` and `fake`; `settings` override
    the stack's (by field name)."""
    config = stack.settings(shopify_admin_base_url=fake.base_url_template(), **settings)
    registry = ShopRegistry(client, token_cipher(config))
    producer = DurableProducer(bootstrap(stack), idempotent=False, timeout=10)
    try:
        async with shopify_http(fake.base_url_template(), timeout=10.0) as http:
            api = AdminApi(http, registry.access_token, api_version="2026-10", max_backoff_s=0.2)
            runs = SyncRuns(client, registry, api, producer, config)
            try:
                yield Clients(config, api, producer, runs)
            finally:
                await runs.aclose()
    finally:
        await producer.stop()


async def customer_rows(client: redis.Redis, shop: str) -> dict[str, dict[str, Any]]:
    """Every customer's list row (`customers:{shop}`) by customer id."""
    raw = await client.hgetall(redis_keys.customers(shop))
    return {k.decode(): read_row(orjson.loads(v)) for k, v in raw.items()}
