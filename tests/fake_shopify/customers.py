"""Fake Admin GraphQL for customers and orders: tagsAdd, tagsRemove, orders, ordersCount."""

from __future__ import annotations

import base64
from typing import Any

from tests.fake_shopify.server import FakeShopify


def customer_gid(customer_id: int | str) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def add_customer(fake: FakeShopify, shop: str, customer_id: int | str, tags: list[str] | None = None) -> None:
    fake.shop_state(shop).setdefault("customers", {})[customer_gid(customer_id)] = {"tags": list(tags or [])}


def tags_of(fake: FakeShopify, shop: str, customer_id: int | str) -> list[str]:
    return fake.shop_state(shop).get("customers", {}).get(customer_gid(customer_id), {}).get("tags", [])


def add_order(fake: FakeShopify, shop: str, node: dict[str, Any]) -> None:
    """An order as Admin GraphQL returns it (ids are GIDs, money in `*Set.shopMoney`)."""
    fake.shop_state(shop).setdefault("orders", []).append(node)


def _tags(add: bool):
    def resolve(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
        customer = fake.shop_state(shop).get("customers", {}).get(args["id"])
        if customer is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        tags = [t for t in customer["tags"] if t not in args["tags"]]
        customer["tags"] = [*tags, *args["tags"]] if add else tags
        return {"node": {"id": args["id"]}, "userErrors": []}

    return resolve


def _cursor(index: int) -> str:
    return base64.b64encode(f"order:{index}".encode()).decode()


def _orders(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    """Orders oldest first, `first` at a time after the opaque cursor `after`."""
    orders = fake.shop_state(shop).get("orders", [])
    start = int(base64.b64decode(args["after"]).decode().split(":")[1]) + 1 if args.get("after") else 0
    page = orders[start : start + int(args.get("first", 50))]
    edges = [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(page)]
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + len(page) < len(orders),
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _orders_count(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    """Like Shopify's counts: capped at `limit` (10,000 unless null) with precision AT_LEAST."""
    count, limit = len(fake.shop_state(shop).get("orders", [])), args.get("limit", 10_000)
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def install(fake: FakeShopify) -> FakeShopify:
    fake.resolvers.update(
        tagsAdd=_tags(add=True), tagsRemove=_tags(add=False), orders=_orders, ordersCount=_orders_count
    )
    return fake
