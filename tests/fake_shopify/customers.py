"""Fake Admin GraphQL for customers and orders: tagsAdd, tagsRemove, orders (also updated since a
time, or of one customer), ordersCount, customers' totals (`numberOfOrders`, `amountSpent`), and
customers' names (`nodes(ids:)`) and search (`customers(query:)`), which Shopify answers only to
an app granted protected customer data (`deny_names`)."""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.fake_shopify.server import FakeShopify, FieldError

ACCESS_DENIED = "Access denied for firstName field. Required access: level 2 access to customer data."


def customer_gid(customer_id: int | str) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def add_customer(
    fake: FakeShopify,
    shop: str,
    customer_id: int | str,
    tags: list[str] | None = None,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
) -> None:
    fake.shop_state(shop).setdefault("customers", {})[customer_gid(customer_id)] = {
        "tags": list(tags or []),
        "firstName": first_name,
        "lastName": last_name,
        "email": email,
    }


def deny_names(fake: FakeShopify, shop: str) -> None:
    """The shop's app was not granted customers' names: `nodes` and `customers` are refused."""
    fake.shop_state(shop)["names_denied"] = True


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


def _matching(orders: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """The orders a search `query` selects (the fake knows `updated_at:>'ISO time'`), in `sortKey`
    order (insertion, i.e. creation, unless UPDATED_AT)."""
    query = str(args.get("query") or "")
    if query.startswith("customer_id:"):
        return [
            o for o in orders if (o.get("customer") or {}).get("id") == customer_gid(query.split(":", 1)[1])
        ]
    if query:
        if not query.startswith("updated_at:>"):
            raise FieldError(f"the fake does not know the search {query!r}", "BAD_REQUEST")
        since = datetime.fromisoformat(query.removeprefix("updated_at:>").strip("'\"").replace("Z", "+00:00"))
        orders = [o for o in orders if datetime.fromisoformat(o["updatedAt"].replace("Z", "+00:00")) > since]
    if args.get("sortKey") == "UPDATED_AT":
        orders = sorted(orders, key=lambda o: datetime.fromisoformat(o["updatedAt"].replace("Z", "+00:00")))
    return orders


def _orders(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    """Orders oldest first (or as `sortKey`, `query` say), `first` at a time after the opaque
    cursor `after`."""
    orders = _matching(fake.shop_state(shop).get("orders", []), args)
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


def _granted(fake: FakeShopify, shop: str) -> dict[str, dict[str, Any]]:
    if fake.shop_state(shop).get("names_denied"):
        raise FieldError(ACCESS_DENIED, "ACCESS_DENIED")
    return fake.shop_state(shop).get("customers", {})


def _nodes(fake: FakeShopify, shop: str, args: dict[str, Any]) -> list[dict[str, Any] | None]:
    """Customers by GID, null for ids the shop does not have (at most 250, as Shopify)."""
    if len(args["ids"]) > 250:
        raise FieldError(
            "The input array size of 251 is greater than the maximum allowed of 250.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )
    customers = _granted(fake, shop)
    return [
        {"id": gid, "firstName": customers[gid]["firstName"], "lastName": customers[gid]["lastName"]}
        if gid in customers
        else None
        for gid in args["ids"]
    ]


def set_totals(fake: FakeShopify, shop: str, customer_id: int | str, orders: int, spent: str) -> None:
    """Shopify's `numberOfOrders` / `amountSpent` for the customer, whatever its orders say (orders
    Shopify holds but does not return, e.g. past the `read_all_orders` window)."""
    fake.shop_state(shop).setdefault("totals", {})[customer_gid(customer_id)] = (orders, spent)


def _totals(fake: FakeShopify, shop: str) -> dict[str, tuple[int, Decimal]]:
    """Every customer with orders: (orders not cancelled, spend net of refunds) from the orders held."""
    totals: dict[str, tuple[int, Decimal]] = {}
    for o in fake.shop_state(shop).get("orders", []):
        gid = (o.get("customer") or {}).get("id")
        if not gid or o.get("cancelledAt"):
            continue
        refunded = sum(Decimal(r["totalRefundedSet"]["shopMoney"]["amount"]) for r in o.get("refunds") or ())
        count, spent = totals.get(gid, (0, Decimal(0)))
        totals[gid] = (count + 1, spent + Decimal(o["totalPriceSet"]["shopMoney"]["amount"]) - refunded)
    for gid, (count, amount) in fake.shop_state(shop).get("totals", {}).items():
        totals[gid] = (count, Decimal(amount))
    return totals


def _every_customer(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    """Every customer (added, or named by an order) with `numberOfOrders` (a string, as Shopify's
    UnsignedInt64) and `amountSpent`, `first` at a time after the cursor `after`."""
    totals = _totals(fake, shop)
    gids = sorted(set(fake.shop_state(shop).get("customers", {})) | set(totals))
    start = int(args["after"]) if args.get("after") else 0
    page = gids[start : start + int(args.get("first", 50))]
    edges = [
        {
            "cursor": str(start + i + 1),
            "node": {
                "id": gid,
                "numberOfOrders": str(totals.get(gid, (0, 0))[0]),
                "amountSpent": {"amount": str(totals.get(gid, (0, Decimal(0)))[1]), "currencyCode": "EUR"},
            },
        }
        for i, gid in enumerate(page)
    ]
    more = start + len(page) < len(gids)
    return {
        "edges": edges,
        "pageInfo": {"hasNextPage": more, "endCursor": edges[-1]["cursor"] if edges else None},
    }


def _search(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    """Customers whose first name, last name or email contains every word of `query`; with
    Shopify's `email:"…"` syntax, the customer with exactly that email; without a query, every
    customer with their totals (the reconciliation)."""
    if not args.get("query"):
        return _every_customer(fake, shop, args)
    query = str(args.get("query") or "").lower()
    if query.startswith("email:"):
        email = query.removeprefix("email:").strip('"')
        found = [
            {"node": {"id": g}}
            for g, c in _granted(fake, shop).items()
            if (c.get("email") or "").lower() == email
        ]
        return {"edges": found[: int(args.get("first", 50))]}
    words = query.split()
    found = [
        {"node": {"id": gid}}
        for gid, c in _granted(fake, shop).items()
        if all(any(w in (c.get(f) or "").lower() for f in ("firstName", "lastName", "email")) for w in words)
    ]
    return {"edges": found[: int(args.get("first", 50))]}


def install(fake: FakeShopify) -> FakeShopify:
    fake.resolvers.update(
        tagsAdd=_tags(add=True),
        tagsRemove=_tags(add=False),
        orders=_orders,
        ordersCount=_orders_count,
        nodes=_nodes,
        customers=_search,
    )
    return fake
