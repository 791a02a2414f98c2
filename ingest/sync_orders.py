"""The incremental sync's orders: every order updated since a time, through the backfill's path.

Admin GraphQL `orders(query: "updated_at:>…", sortKey: UPDATED_AT)`, paged and cost-paced by
`shopify/admin.py`, each page produced as `orders/backfill` records by `produce_pages`
(ingest/backfill.py): the customers step keeps the last applied `updated_at` per order, so an
order already applied by its webhook changes nothing and a missed one is applied once. The page
cursor is saved in the sync's checkpoint (`sync:{shop}`) after every acknowledged page.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as redis

from ingest.backfill import PAGE, produce_pages
from ingest.backfill_orders import ORDER_FIELDS, Progress
from ingest.producer import DurableProducer
from shopify.admin import AdminApi
from storepulse import redis_keys
from storepulse.envelope import sync_source
from storepulse.redis_client import Hash

ORDERS_SINCE_QUERY = f"""
query SyncOrders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{
    edges {{ cursor node {{ {ORDER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""


def updated_since(since: str | None) -> str | None:
    """The search query of orders updated after `since` (ISO 8601); None (every order) without one."""
    return f"updated_at:>'{since}'" if since else None


async def sync_orders(
    shop: str,
    api: AdminApi,
    producer: DurableProducer,
    client: redis.Redis,
    *,
    since: str | None,
    run_id: str,
    progress: Progress,
    page: int = PAGE,
    show_progress: bool = False,
) -> int:
    """Produce the shop's orders updated after `since`, resuming the checkpoint; how many now."""
    key = redis_keys.sync_checkpoint(shop)
    saved = cast(Hash, await client.hgetall(key))
    return await produce_pages(
        shop,
        api,
        producer,
        client,
        key=key,
        query=ORDERS_SINCE_QUERY,
        variables={"query": updated_since(since)},
        saved=saved,
        total=None,
        page=page,
        show_progress=show_progress,
        progress=progress,
        source=sync_source(run_id),
    )
