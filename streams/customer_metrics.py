"""Per-customer lifetime metrics, updated idempotently from orders."""

from __future__ import annotations

from typing import Any

from streams.fields import money, parse_time

# How many applied order ids a customer's state remembers to skip re-deliveries.
SEEN_ORDERS = 64


def apply_order(state: dict[str, Any] | None, order: dict[str, Any]) -> dict[str, Any] | None:
    """The customer's state after `order`, or None when the order was already counted."""
    state = dict(state or {"orders_count": 0, "total_spent": "0", "last_order_at": None, "seen": []})
    order_id = str(order.get("id"))
    if order_id in state["seen"]:
        return None
    state["orders_count"] += 1
    state["total_spent"] = str(money(state["total_spent"]) + money(order.get("total_price")))
    created = parse_time(order.get("created_at"))
    last = parse_time(state["last_order_at"])
    if created is not None and (last is None or created > last):
        state["last_order_at"] = created.isoformat()
    state["seen"] = [*state["seen"], order_id][-SEEN_ORDERS:]
    return state
