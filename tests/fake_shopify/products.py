"""Fake Admin GraphQL `products`: a shop's products by id, paged; a test adds, archives,
unpublishes and deletes them (what the catalog refresh reads, ingest/sync_catalog.py)."""

from __future__ import annotations

import base64
from typing import Any

from tests.fake_shopify.server import FakeShopify


def product_gid(product_id: int | str) -> str:
    return f"gid://shopify/Product/{product_id}"


def _products(fake: FakeShopify, shop: str) -> dict[str, dict[str, Any]]:
    return fake.shop_state(shop).setdefault("products", {})


def add_product(
    fake: FakeShopify,
    shop: str,
    product_id: int,
    title: str,
    handle: str,
    *,
    status: str = "ACTIVE",
    published_at: str | None = "2026-01-01T00:00:00Z",
    image: str | None = None,
) -> None:
    """A product as Admin GraphQL returns it; `published_at` None: not on the online store."""
    _products(fake, shop)[product_gid(product_id)] = {
        "id": product_gid(product_id),
        "title": title,
        "handle": handle,
        "status": status,
        "publishedAt": published_at,
        "featuredImage": {"url": image} if image else None,
    }


def set_status(fake: FakeShopify, shop: str, product_id: int, status: str) -> None:
    """ARCHIVED, DRAFT or ACTIVE again (no webhook is sent: what only the refresh can see)."""
    _products(fake, shop)[product_gid(product_id)]["status"] = status


def delete_product(fake: FakeShopify, shop: str, product_id: int) -> None:
    del _products(fake, shop)[product_gid(product_id)]


def _cursor(index: int) -> str:
    return base64.b64encode(f"product:{index}".encode()).decode()


def _page(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    """Products by id, `first` at a time after the opaque cursor `after`."""
    products = sorted(_products(fake, shop).values(), key=lambda p: int(p["id"].rsplit("/", 1)[1]))
    start = int(base64.b64decode(args["after"]).decode().split(":")[1]) + 1 if args.get("after") else 0
    page = products[start : start + int(args.get("first", 50))]
    edges = [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(page)]
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + len(page) < len(products),
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def install(fake: FakeShopify) -> FakeShopify:
    fake.resolvers.update(products=_page)
    return fake
