"""The weekly reconciliation: every customer's order count and spend against Shopify's.

Pages Admin GraphQL `customers { numberOfOrders amountSpent }` and compares each with the
customer's row in `customers:{shop}` (orders not cancelled, spend net of refunds: what StorePulse
counts). For each customer that differs it reads that customer's orders (`orders(query:
"customer_id:…")`) and produces them through the backfill's path (`produce_order`), which
applies the missing ones once and changes nothing for the rest. The drift is counted per shop:
`found`, `repaired` (the orders Shopify returned account for its figures, so replaying them
sets the customer right) and `unexplained` (they do not: orders Shopify does not return, e.g.
older than 60 days without `read_all_orders`). No customer is named in logs or counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import redis.asyncio as redis
import structlog

from ingest.backfill_orders import ORDER_FIELDS, order_payload, produce_order
from ingest.producer import DurableProducer
from shopify.admin import AdminApi
from storepulse import redis_keys
from storepulse.envelope import ORDERS_BACKFILL, sync_source
from streams.domain.customer_metrics import apply_event
from streams.domain.customer_state import CustomerState
from streams.domain.standing import read_row

log = structlog.get_logger(__name__)

PAGE = 250
CUSTOMERS_QUERY = """
query Reconcile($first: Int!, $after: String) {
  customers(first: $first, after: $after) {
    edges { cursor node { id numberOfOrders amountSpent { amount } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CUSTOMER_ORDERS_QUERY = f"""
query CustomerOrders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query) {{
    edges {{ cursor node {{ {ORDER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

Figures = tuple[int, Decimal]


@dataclass
class Drift:
    found: int = 0
    repaired: int = 0
    unexplained: int = 0
    customers: int = 0  # compared

    def record(self) -> dict[str, int]:
        return {
            "customers": self.customers,
            "found": self.found,
            "repaired": self.repaired,
            "unexplained": self.unexplained,
        }


async def ours(client: redis.Redis, shop: str) -> dict[str, Figures]:
    """Each customer's (orders, net spend) as StorePulse counts them."""
    held = {}
    async for customer_id, raw in client.hscan_iter(redis_keys.customers(shop), count=1000):
        row = read_row(orjson.loads(raw))
        held[customer_id.decode()] = (int(row["orders_count"]), Decimal(row["net_spent"]))
    return held


def _legacy(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def figures_of(shop: str, customer_id: str, nodes: list[dict[str, Any]]) -> Figures:
    """What these orders add up to, counted by the customers step's own rules."""
    state = CustomerState(shop, customer_id)
    for node in nodes:
        apply_event(state, ORDERS_BACKFILL, order_payload(node))
    return state.orders_count, Decimal(state.net_spent)


async def _pages(api: AdminApi, shop: str, query: str, variables: dict[str, Any], field: str) -> list[Any]:
    nodes: list[Any] = []
    after = None
    while True:
        data = (
            await api.query(shop, query, {**variables, "after": after}, cost=2.0 + variables["first"] / 10)
        )[field]
        nodes.extend(edge["node"] for edge in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            return nodes
        after = data["pageInfo"]["endCursor"]


async def reconcile(
    shop: str, api: AdminApi, producer: DurableProducer, client: redis.Redis, *, run_id: str
) -> Drift:
    """Compare every customer with Shopify and repair each one that differs; the drift."""
    held = await ours(client, shop)
    drift = Drift()
    after = None
    while True:
        variables = {"first": PAGE, "after": after}
        data = (await api.query(shop, CUSTOMERS_QUERY, variables, cost=2.0 + PAGE / 10))["customers"]
        for edge in data["edges"]:
            node = edge["node"]
            customer_id = _legacy(node["id"])
            theirs = (int(node["numberOfOrders"]), Decimal(node["amountSpent"]["amount"]))
            drift.customers += 1
            if held.get(customer_id, (0, Decimal(0))) == theirs:
                continue
            drift.found += 1
            orders = await _pages(
                api,
                shop,
                CUSTOMER_ORDERS_QUERY,
                {"first": 100, "query": f"customer_id:{customer_id}"},
                "orders",
            )
            for order in orders:
                await produce_order(producer, shop, order, source=sync_source(run_id))
            if figures_of(shop, customer_id, orders) == theirs:
                drift.repaired += 1
            else:
                drift.unexplained += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    log.info("sync_reconciled", shop=shop, run=run_id, **drift.record())
    return drift
