"""Orders as the fake Admin GraphQL holds them (GIDs, money in `*Set.shopMoney`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loadtests.payloads import next_id


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def order_node(
    customer: int,
    amount: str,
    *,
    days: float,
    cancelled: bool = False,
    refund: str | None = None,
    updated_days: float | None = None,
) -> dict[str, Any]:
    """An order placed `days` ago (last updated `updated_days` ago, by default then too)."""
    now = datetime.now(UTC)
    at = iso(now - timedelta(days=days))
    return {
        "id": f"gid://shopify/Order/{next_id()}",
        "createdAt": at,
        "updatedAt": at if updated_days is None else iso(now - timedelta(days=updated_days)),
        "cancelledAt": at if cancelled else None,
        "customer": {"id": f"gid://shopify/Customer/{customer}"},
        "totalPriceSet": {"shopMoney": {"amount": amount, "currencyCode": "EUR"}},
        "refunds": [
            {"id": f"gid://shopify/Refund/{next_id()}", "totalRefundedSet": {"shopMoney": {"amount": refund}}}
        ]
        if refund
        else [],
    }
