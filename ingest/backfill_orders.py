"""What a backfilled order is: the GraphQL fields read, the webhook-shaped payload, the record.

Both backfill paths (pages in `ingest/backfill.py`, bulk operations in `ingest/backfill_bulk.py`)
and the scheduled sync (`ingest/sync_orders.py`) select `ORDER_FIELDS` and hand each order node to
`produce_order`, so a record looks the same whichever way the order arrived.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ingest.producer import DurableProducer
from ingest.routing import route
from shopify.topics import ORDERS_UPDATED
from storepulse.envelope import ORDERS_BACKFILL, envelope_bytes

# An order's fields that metrics read. `refunds` is a list field (not a connection), so a bulk
# operation returns it inline on the order's own JSONL line.
ORDER_FIELDS = """
      id createdAt updatedAt cancelledAt
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      refunds { id totalRefundedSet { shopMoney { amount } } }
"""


# Hears (orders done, orders in the shop) as a backfill goes, whichever path it takes.
Progress = Callable[[int, int], Awaitable[None]]


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


async def produce_order(
    producer: DurableProducer, shop: str, node: dict[str, Any], *, source: str = "backfill"
) -> None:
    """One order node as an `orders/backfill` record, returned once the broker acknowledged it.

    `source` begins the record's webhook id (`backfill-…`, `sync-…`): the logs tell who read it."""
    payload = order_payload(node)
    routed = route(ORDERS_UPDATED, shop, payload)  # the key every order webhook of it gets
    assert routed is not None
    kafka_topic, key = routed
    envelope = envelope_bytes(
        webhook_id=f"{source}-{uuid.uuid4()}", topic=ORDERS_BACKFILL, shop=shop, payload=payload
    )
    await producer.send(kafka_topic, key, envelope)
