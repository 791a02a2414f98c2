"""The sync's catalog refresh: every product Shopify has, as a `products/update` webhook would say it.

Admin GraphQL `products` (paged and cost-paced by `shopify/admin.py`), each product produced to
`shopify.products` as a `products/update` envelope in the REST webhook's shape, so the catalog
agent (streams/agents/catalog.py) has one code path whatever told it. The products the catalog
held when the refresh began that Shopify no longer returns get a `products/delete` envelope, as
the webhook Shopify would have sent: the catalog holds them unlisted and withdraws their
notifications. The set held is taken before the first page, so a product created while the pages
are read (its webhook lands in the catalog) is never taken for a deleted one. Without a catalog
(`storepulse sync` outside the worker) nothing is deleted. A refresh is not checkpointed: it
starts over after a crash (a shop's products are few pages, and an update is idempotent).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.producer import DurableProducer
from ingest.routing import route
from shopify.admin import AdminApi
from shopify.topics import PRODUCTS_DELETE, PRODUCTS_UPDATE
from storepulse.envelope import envelope_bytes, sync_source

PAGE = 100
PRODUCTS_QUERY = """
query SyncProducts($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    edges { cursor node { id title handle status publishedAt featuredImage { url } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# The product ids the catalog holds for a shop.
HeldProducts = Callable[[str], set[str]]


@dataclass
class CatalogRefresh:
    """What one refresh did (the worker's metrics count it)."""

    refreshed: int = 0
    deleted: int = 0

    def record(self) -> dict[str, int]:
        return {"refreshed": self.refreshed, "deleted": self.deleted}


def product_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL product node in the shape of its products/update webhook's payload."""
    image = node.get("featuredImage")
    return {
        "id": int(str(node["id"]).rsplit("/", 1)[-1]),
        "title": node.get("title"),
        "handle": node.get("handle"),
        "status": str(node.get("status") or "").lower() or None,
        "published_at": node.get("publishedAt"),
        "image": {"src": image["url"]} if isinstance(image, dict) and image.get("url") else None,
    }


async def _produce(
    producer: DurableProducer, shop: str, topic: str, payload: dict[str, Any], run_id: str
) -> None:
    routed = route(topic, shop, payload)  # the key every products/* webhook of it gets
    assert routed is not None
    kafka_topic, key = routed
    envelope = envelope_bytes(
        webhook_id=f"{sync_source(run_id)}-{uuid.uuid4()}", topic=topic, shop=shop, payload=payload
    )
    await producer.send(kafka_topic, key, envelope)


async def refresh_catalog(
    shop: str,
    api: AdminApi,
    producer: DurableProducer,
    *,
    run_id: str,
    held: HeldProducts | None,
    page: int = PAGE,
) -> CatalogRefresh:
    """Produce every product of the shop, and a delete for each held one Shopify no longer has."""
    before = held(shop) if held else None
    outcome = CatalogRefresh()
    returned: set[str] = set()
    cursor: str | None = None
    while True:
        data = await api.query(shop, PRODUCTS_QUERY, {"first": page, "after": cursor}, cost=2.0 + page / 10)
        products = data["products"]
        payloads = [product_payload(edge["node"]) for edge in products["edges"]]
        await asyncio.gather(*(_produce(producer, shop, PRODUCTS_UPDATE, p, run_id) for p in payloads))
        returned.update(str(p["id"]) for p in payloads)
        outcome.refreshed += len(payloads)
        if not products["pageInfo"]["hasNextPage"]:
            break
        cursor = products["pageInfo"]["endCursor"]
    gone = sorted((before or set()) - returned)
    await asyncio.gather(*(_produce(producer, shop, PRODUCTS_DELETE, {"id": int(p)}, run_id) for p in gone))
    outcome.deleted = len(gone)
    return outcome
