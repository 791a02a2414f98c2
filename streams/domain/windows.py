"""Sliding windows per product: purchases over 24 hours, distinct viewers over 5 minutes.

The states are plain JSON (they are table values) and every update is idempotent: a
purchase is counted by order id and a viewer by visitor id, so a re-delivered event
changes nothing and announces nothing.
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
    state = state or {"visitors": {}, "announced": None}
    latest = max([at, *state["visitors"].values()])
    visitors = {v: t for v, t in state["visitors"].items() if t >= latest - VIEW_WINDOW_S}
    if at >= latest - VIEW_WINDOW_S:
        visitors[visitor] = max(at, visitors.get(visitor, at))
    visitors = _newest(visitors, MAX_VIEWERS)
    announced = state["announced"]
    count = len(visitors)
    due = announced is None or at - announced >= VIEW_ANNOUNCE_EVERY_S
    if count >= min_viewers and due:
        return {"visitors": visitors, "announced": at}, count
    return {"visitors": visitors, "announced": announced}, None
