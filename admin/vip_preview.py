"""The VIP program's dry run: whom the current, or a proposed, tier configuration would tag and
untag, by the worker's own rules (streams/domain/standing.py), writing nothing.

A tier depends on a customer's orders and net spend only through which rule bounds they reach,
and on the last order only through the dropoff. So customers are grouped by (order bounds
reached, spend bounds reached, dropped off, tier held), and `tier_for` decides once per group
with a representative customer: 100,000 customers make a few dozen groups, decided in
milliseconds without blocking ingest's event loop.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Json

from admin.customer_index import NO_DATE, ShopIndex, cents
from storepulse.contracts import ShopSettings, TierRule
from streams.domain.standing import tier_for, tier_tags

LISTED = 100  # changes listed, biggest spenders first; the counts cover everyone


class Proposal(BaseModel):
    """Query parameters: `tiers` as JSON (a list of tier rules), `vip_dropoff_days`; either left
    out keeps the shop's current value."""

    model_config = ConfigDict(extra="ignore")

    tiers: Json[list[TierRule]] | None = None
    vip_dropoff_days: int | None = Field(None, ge=1)

    def applied_to(self, settings: ShopSettings) -> ShopSettings:
        changes = {k: v for k, v in (("tiers", self.tiers), ("vip_dropoff_days", self.vip_dropoff_days)) if v}
        return settings.model_copy(update=changes)


def _reached(values: np.ndarray, bounds: list[int]) -> np.ndarray:
    """How many of the (sorted) bounds each value reaches."""
    return np.searchsorted(np.asarray(bounds, np.int64), values, side="right")


def preview(index: ShopIndex, settings: ShopSettings, now: datetime) -> dict[str, Any]:
    """`{"would_tag", "would_untag", "changes": [...], "customers", "tiers", "vip_dropoff_days"}`."""
    rules, dropoff = settings.tiers, settings.vip_dropoff_days
    order_bounds = sorted({r.min_orders for r in rules if r.min_orders > 0})
    spend_bounds = sorted({cents(r.min_spent) for r in rules if r.min_spent > 0})
    net, last, held = index.column("net_spent"), index.column("last_order_at"), index.column("tier")
    dropped = (last == NO_DATE) | (last < int(now.timestamp()) - dropoff * 86400)
    # One int per group, so grouping is one sort of integers.
    spend_levels, tier_codes = len(spend_bounds) + 1, len(index.tiers.names)
    groups = (
        (_reached(index.column("orders_count"), order_bounds) * spend_levels + _reached(net, spend_bounds))
        * 2
        + dropped
    ) * tier_codes + held
    keys, member_of = np.unique(groups, return_inverse=True)
    decided = []
    for key in keys.tolist():
        rest, code = divmod(key, tier_codes)
        rest, gone = divmod(rest, 2)
        orders_reached, spend_reached = divmod(rest, spend_levels)
        # A customer who reaches exactly these bounds: the bound itself, or nothing below the first.
        orders = order_bounds[orders_reached - 1] if orders_reached else 0
        spent = Decimal(spend_bounds[spend_reached - 1]) / 100 if spend_reached else Decimal(-1)
        tier = tier_for(rules, orders, spent, None if gone else 0.0, dropoff)
        before = index.tiers.names[code]
        after = tier.name if tier else None
        decided.append((before, after, *tier_tags(rules, before, tier)) if after != before else None)
    adds = np.array([bool(d and d[2]) for d in decided], dtype=bool)[member_of]
    removes = np.array([bool(d and d[3]) for d in decided], dtype=bool)[member_of]
    changed = np.flatnonzero(adds | removes)
    listed = changed[np.argsort(-net[changed], kind="stable")[:LISTED]]
    return {
        "would_tag": int(adds.sum()),
        "would_untag": int(removes.sum()),
        "changes": [_change(str(index.ids[at]), decided[member_of[at]]) for at in listed],
        "customers": index.size,
        "tiers": [rule.model_dump(mode="json") for rule in rules],
        "vip_dropoff_days": dropoff,
    }


def _change(customer_id: str, decided: Any) -> dict[str, Any]:
    before, after, add, remove = decided
    return {
        "customer_id": customer_id,
        "tier_from": before,
        "tier_to": after,
        "tags_add": add,
        "tags_remove": remove,
    }
