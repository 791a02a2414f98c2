"""Sliding windows per product: purchases over 24 hours, distinct viewers over 5 minutes,
distinct carts over 30 minutes; per shop: distinct visitors over 5 minutes.

The states are plain JSON (they are table values) and every update is idempotent: a
purchase is counted by order id, a viewer by visitor id and a cart by its token's digest, so a
re-delivered event changes nothing and announces nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PURCHASE_WINDOW_S = 24 * 3600
VIEW_WINDOW_S = 5 * 60
# A product's viewer count is announced at most once a minute.
VIEW_ANNOUNCE_EVERY_S = 60
# Distinct viewers counted per product; a bound on state size ("1000 people are viewing").
MAX_VIEWERS = 1000
# A shop's visitor count is announced at most once every 5 minutes, and only when it moved by a
# tenth of the last one announced: a steady "128 shoppers" is not news on every page view.
VISITORS_ANNOUNCE_EVERY_S = 5 * 60
VISITORS_CHANGE = 0.1
CART_WINDOW_S = 30 * 60
# A product's cart count is announced at most once every 10 minutes.
CART_ANNOUNCE_EVERY_S = 10 * 60


@dataclass(frozen=True)
class Crossing:
    """An order made a product's 24 h purchase count reach `threshold`."""

    threshold: int
    count: int


def _newest(entries: dict[str, float], limit: int) -> dict[str, float]:
    if len(entries) <= limit:
        return entries
    return dict(sorted(entries.items(), key=lambda kv: kv[1])[-limit:])


def record_purchase(
    state: dict[str, Any] | None, order_id: str, at: float, now: float, thresholds: Sequence[int]
) -> tuple[dict[str, Any], Crossing | None] | None:
    """The product's state after order `order_id` made at `at`, and the threshold it crossed.

    None when the order is already counted, older than the window, or the shop has no
    thresholds. Only the highest threshold reached is announced, each at most once per window.
    The count is exact up to the highest threshold, which bounds the state; past it no
    threshold can be crossed.
    """
    state = state or {"orders": {}, "announced": {}}
    cutoff = now - PURCHASE_WINDOW_S
    if not thresholds or order_id in state["orders"] or at < cutoff:
        return None
    orders = {o: t for o, t in state["orders"].items() if t >= cutoff}
    orders[order_id] = at
    orders = _newest(orders, max(thresholds))
    announced = {t: ts for t, ts in state["announced"].items() if ts >= cutoff}
    count = len(orders)
    reached = [t for t in thresholds if t <= count and str(t) not in announced]
    crossing = Crossing(max(reached), count) if reached else None
    for t in reached:
        announced[str(t)] = now
    return {"orders": orders, "announced": announced}, crossing


def record_view(
    state: dict[str, Any] | None, visitor: str, at: float, min_viewers: int
) -> tuple[dict[str, Any], int | None]:
    """The product's state after `visitor` viewed it at `at`, and the count to announce (if any).

    A count is announced when at least `min_viewers` distinct visitors viewed the product in
    the last five minutes and the last announcement is a minute old.
    """
    return _record_distinct(state, visitor, at, min_viewers, VIEW_WINDOW_S, VIEW_ANNOUNCE_EVERY_S)


def record_visit(
    state: dict[str, Any] | None, visitor: str, at: float, min_visitors: int
) -> tuple[dict[str, Any], int | None]:
    """The shop's state after `visitor` viewed a page at `at`, and the count to announce (if any):
    from `min_visitors` distinct visitors in the last five minutes, at most once every five
    minutes, and only when the count differs by a tenth (at least one) from the last announced."""
    last = state.get("count") if state else None
    new, count = _record_distinct(state, visitor, at, min_visitors, VIEW_WINDOW_S, VISITORS_ANNOUNCE_EVERY_S)
    if count is None:
        return {**new, "count": last}, None
    if last is not None and abs(count - last) < max(1, last * VISITORS_CHANGE):
        assert state is not None  # `last` came from it
        return {**new, "announced": state["announced"], "count": last}, None
    return {**new, "count": count}, count


def record_cart(
    state: dict[str, Any] | None, cart: str, at: float, min_carts: int
) -> tuple[dict[str, Any], int | None]:
    """The product's state after cart `cart` held it at `at`, and the count to announce (if any):
    from `min_carts` distinct carts in the last 30 minutes, at most once every 10 minutes."""
    return _record_distinct(state, cart, at, min_carts, CART_WINDOW_S, CART_ANNOUNCE_EVERY_S)


def _record_distinct(
    state: dict[str, Any] | None, member: str, at: float, minimum: int, window_s: int, every_s: int
) -> tuple[dict[str, Any], int | None]:
    # "visitors" holds the distinct members (viewers, or carts), as viewers' stored states name it.
    state = state or {"visitors": {}, "announced": None}
    latest = max([at, *state["visitors"].values()])
    visitors = {v: t for v, t in state["visitors"].items() if t >= latest - window_s}
    if at >= latest - window_s:
        visitors[member] = max(at, visitors.get(member, at))
    visitors = _newest(visitors, MAX_VIEWERS)
    announced = state["announced"]
    count = len(visitors)
    due = announced is None or at - announced >= every_s
    if count >= minimum and due:
        return {"visitors": visitors, "announced": at}, count
    return {"visitors": visitors, "announced": announced}, None
