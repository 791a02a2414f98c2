"""`storepulse backfill SHOP`: a shop's existing orders, so metrics and tiers are right from install.

Counts the shop's orders first. Up to `STOREPULSE_BACKFILL_BULK_THRESHOLD` it pages through Admin
GraphQL `orders` (oldest first, cost-paced by `shopify/admin.py`); a larger shop is read
with one bulk operation instead (`ingest/backfill_bulk.py`). Either way each order goes to
`shopify.orders` as an `orders/backfill` record with the key and payload shape of its webhooks
(`ingest/backfill_orders.py`). The customers step treats it like `orders/updated`: the ledger
keeps the last applied `updated_at` per order, so an order that also arrives by webhook counts once.
Progress is saved in Redis (`backfill:{shop}`) after every batch the broker acknowledged — the page
cursor, or the bulk operation id and how many of its orders are done — so an interrupted run
resumes where it stopped; a finished one starts over (harmless, idempotent). A `progress`
callback hears (done, total) at the start and after every saved batch (the app shows it).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import redis.asyncio as redis
from tqdm import tqdm

from ingest.backfill_bulk import backfill_bulk
from ingest.backfill_orders import ORDER_FIELDS, Progress, produce_order
from ingest.producer import DurableProducer
from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from storepulse import redis_keys
from storepulse.redis_client import Hash, redis_client
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry, token_cipher

PAGE = 100
BULK_THRESHOLD: int = Settings.model_fields["backfill_bulk_threshold"].default
ORDERS_QUERY = f"""
query Backfill($first: Int!, $after: String) {{
  orders(first: $first, after: $after, sortKey: CREATED_AT) {{
    edges {{ cursor node {{ {ORDER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
# `limit: null`: Shopify's counts otherwise stop at 10,000 (precision AT_LEAST).
COUNT_QUERY = "query BackfillCount { ordersCount(limit: null) { count precision } }"


async def _no_progress(done: int, total: int) -> None:
    return None


async def backfill(
    shop: str,
    api: AdminApi,
    producer: DurableProducer,
    client: redis.Redis,
    *,
    page: int = PAGE,
    bulk_threshold: int = BULK_THRESHOLD,
    poll_s: float = 1.0,
    show_progress: bool = True,
    progress: Progress = _no_progress,
) -> int:
    """Produce every order of `shop` not yet produced by an earlier run; returns how many now.

    `page` orders are produced per request (paginated) or per saved batch (bulk); a bulk
    operation's status is polled after `poll_s`, then ever less often.
    """
    saved = cast(Hash, await client.hgetall(redis_keys.backfill_state(shop)))
    counted = (await api.query(shop, COUNT_QUERY, cost=1.0))["ordersCount"]
    total = int(counted["count"])
    large = total > bulk_threshold or counted.get("precision") == "AT_LEAST"
    # A run resumes the way it started, even if the shop crossed the threshold since.
    if b"operation" in saved or (large and b"cursor" not in saved):
        return await backfill_bulk(
            shop,
            api,
            producer,
            client,
            key=redis_keys.backfill_state(shop),
            saved=saved,
            total=total,
            batch=page,
            poll_s=poll_s,
            show_progress=show_progress,
            progress=progress,
        )
    return await produce_pages(
        shop,
        api,
        producer,
        client,
        key=redis_keys.backfill_state(shop),
        query=ORDERS_QUERY,
        saved=saved,
        total=total,
        page=page,
        show_progress=show_progress,
        progress=progress,
    )


async def produce_pages(
    shop: str,
    api: AdminApi,
    producer: DurableProducer,
    client: redis.Redis,
    *,
    key: str,
    query: str,
    saved: dict[bytes, bytes],
    total: int | None,
    page: int,
    show_progress: bool,
    progress: Progress,
    variables: dict[str, Any] | None = None,
    source: str = "backfill",
) -> int:
    """Page through an `orders` query, producing each page; the orders produced now.

    The cursor and count in `key` (fields `cursor`, `done`) are saved after every page the broker
    acknowledged and resumed from; they go once the last page is produced. The backfill and the
    scheduled sync (ingest/sync_orders.py) both page this way.
    """
    cursor = saved.get(b"cursor", b"").decode() or None
    done = int(saved.get(b"done", 0)) if cursor else 0
    produced = 0
    await progress(done, total or 0)
    with tqdm(total=total, initial=done, unit="order", desc=shop, disable=not show_progress) as bar:
        while True:
            data = await api.query(
                shop, query, {**(variables or {}), "first": page, "after": cursor}, cost=2.0 + page / 10
            )
            orders = data["orders"]
            await asyncio.gather(
                *(produce_order(producer, shop, edge["node"], source=source) for edge in orders["edges"])
            )
            produced += len(orders["edges"])
            bar.update(len(orders["edges"]))
            cursor = orders["pageInfo"]["endCursor"] or cursor
            if not orders["pageInfo"]["hasNextPage"]:
                await client.hdel(key, "cursor", "done")
                await progress(done + produced, total or done + produced)
                return produced
            # A page with a next one always has an end cursor: `or ""` only satisfies the type.
            await client.hset(key, mapping={"cursor": cursor or "", "done": done + produced})
            await progress(done + produced, total or 0)


async def run(shop: str, settings: Settings, *, show_progress: bool = True) -> int:
    """The `storepulse backfill` command: clients from settings, the shop's stored token."""
    client = redis_client(settings)
    registry = ShopRegistry(client, token_cipher(settings))
    producer = DurableProducer(
        settings.kafka_bootstrap, idempotent=settings.kafka_idempotent, timeout=settings.produce_timeout
    )
    async with shopify_http(
        settings.shopify_admin_base_url, timeout=httpx.Timeout(30.0, connect=5.0)
    ) as http:
        api = AdminApi(http, registry.access_token, api_version=settings.shopify_api_version)
        try:
            return await backfill(
                shop,
                api,
                producer,
                client,
                bulk_threshold=settings.backfill_bulk_threshold,
                poll_s=settings.backfill_poll_s,
                show_progress=show_progress,
            )
        finally:
            await producer.stop()
            await client.aclose()
