"""`storepulse backfill SHOP`: a shop's existing orders, so metrics and tiers are right from install.

Pages through Admin GraphQL `orders` (oldest first, cost-paced by `storepulse/admin_api.py`) and
produces each order to `shopify.orders` as an `orders/backfill` record with the same key and
payload shape as its webhooks. The customers step treats it like `orders/updated`: the ledger keeps
the last applied `updated_at` per order, so an order that also arrives by webhook counts once.
The cursor is saved in Redis (`backfill:{shop}`) after every page the broker acknowledged, so an
interrupted run resumes where it stopped; a finished one starts over (harmless, idempotent).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import redis.asyncio as redis
from tqdm import tqdm

from ingest.producer import DurableProducer
from ingest.routing import route
from storepulse.admin_api import AdminApi
from storepulse.contracts import envelope_bytes
from storepulse.redis_client import redis_client
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry, token_cipher

BACKFILL_TOPIC = "orders/backfill"
PAGE = 100
ORDERS_QUERY = """
query Backfill($first: Int!, $after: String) {
  orders(first: $first, after: $after, sortKey: CREATED_AT) {
    edges { cursor node {
      id createdAt updatedAt cancelledAt
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      refunds { id totalRefundedSet { shopMoney { amount } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
COUNT_QUERY = "query BackfillCount { ordersCount { count } }"


def cursor_key(shop: str) -> str:
    return f"backfill:{shop}"


def _legacy_id(gid: str | None) -> int | None:
    """`gid://shopify/Order/42` → 42 (REST ids are what webhooks carry)."""
    return int(gid.rsplit("/", 1)[1]) if gid else None


def order_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL order node in the shape of an order webhook payload (the fields metrics read)."""
    money = node["totalPriceSet"]["shopMoney"]
    customer = node.get("customer") or {}
    refunds = [
        {
            "id": _legacy_id(r["id"]),
            "transactions": [
                {
                    "kind": "refund",
                    "status": "success",
                    "amount": r["totalRefundedSet"]["shopMoney"]["amount"],
                }
            ],
        }
        for r in node.get("refunds") or ()
    ]
    return {
        "id": _legacy_id(node["id"]),
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "cancelled_at": node.get("cancelledAt"),
        "total_price_set": {
            "shop_money": {"amount": money["amount"], "currency_code": money["currencyCode"]}
        },
        "customer": {"id": _legacy_id(customer.get("id"))} if customer.get("id") else None,
        "refunds": refunds,
    }


async def backfill(
    shop: str,
    api: AdminApi,
    producer: DurableProducer,
    client: redis.Redis,
    *,
    page: int = PAGE,
    show_progress: bool = True,
) -> int:
    """Produce every order of `shop` not yet produced by an earlier run; returns how many now."""
    saved = await client.hgetall(cursor_key(shop))
    cursor = saved.get(b"cursor", b"").decode() or None
    done = int(saved.get(b"done", 0)) if cursor else 0
    total = (await api.query(shop, COUNT_QUERY, cost=1.0))["ordersCount"]["count"]
    produced = 0
    with tqdm(total=total, initial=done, unit="order", desc=shop, disable=not show_progress) as bar:
        while True:
            data = await api.query(shop, ORDERS_QUERY, {"first": page, "after": cursor}, cost=2.0 + page / 10)
            orders = data["orders"]
            payloads = [order_payload(edge["node"]) for edge in orders["edges"]]
            await asyncio.gather(*(_produce(producer, shop, p) for p in payloads))
            produced += len(payloads)
            bar.update(len(payloads))
            cursor = orders["pageInfo"]["endCursor"] or cursor
            if not orders["pageInfo"]["hasNextPage"]:
                await client.delete(cursor_key(shop))
                return produced
            await client.hset(cursor_key(shop), mapping={"cursor": cursor, "done": done + produced})


async def _produce(producer: DurableProducer, shop: str, payload: dict[str, Any]) -> None:
    routed = route("orders/updated", shop, payload)  # the key every order webhook of it gets
    assert routed is not None
    kafka_topic, key = routed
    envelope = envelope_bytes(
        webhook_id=f"backfill-{uuid.uuid4()}", topic=BACKFILL_TOPIC, shop=shop, payload=payload
    )
    await producer.send(kafka_topic, key.encode(), envelope)


async def run(shop: str, settings: Settings, *, show_progress: bool = True) -> int:
    """The `storepulse backfill` command: clients from settings, the shop's stored token."""
    client = redis_client(settings)
    registry = ShopRegistry(client, token_cipher(settings))
    producer = DurableProducer(
        settings.kafka_bootstrap, idempotent=settings.kafka_idempotent, timeout=settings.produce_timeout
    )
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        api = AdminApi(
            http,
            registry.access_token,
            base_url=settings.shopify_admin_base_url,
            api_version=settings.shopify_api_version,
        )
        try:
            return await backfill(shop, api, producer, client, show_progress=show_progress)
        finally:
            await producer.stop()
            await client.aclose()
