"""The VIP program's dry run: whom the current, or a proposed, tier configuration would tag and
untag, computed with the worker's own rules (streams/domain/standing.py), writing nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Json

from admin.customer_index import NO_DATE, ShopIndex
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


def preview(index: ShopIndex, settings: ShopSettings, now: datetime) -> dict[str, Any]:
    """`{"would_tag", "would_untag", "changes": [...], "customers", "tiers", "vip_dropoff_days"}`."""
    orders, net, last = (index.column(c) for c in ("orders_count", "net_spent", "last_order_at"))
    ids, now_s = index.ids, now.timestamp()
    rules, dropoff = settings.tiers, settings.vip_dropoff_days
    decided: dict[tuple[int, int, bool, str | None], tuple[TierRule | None, list[str], list[str]]] = {}
    changes: list[dict[str, Any]] = []
    tag = untag = 0
    for at in np.argsort(-net, kind="stable"):
        held = index.tier_of(int(at))
        days = None if last[at] == NO_DATE else (now_s - int(last[at])) / 86400
        # The tier depends only on the bounds a customer meets: equal customers are decided once.
        key = (int(orders[at]), int(net[at]), days is None or days > dropoff, held)
        if key not in decided:
            tier = tier_for(rules, key[0], Decimal(key[1]) / 100, days, dropoff)
            moved = (tier.name if tier else None) != held
            decided[key] = (tier, *tier_tags(rules, held, tier)) if moved else (tier, [], [])
        tier, add, remove = decided[key]
        tag, untag = tag + bool(add), untag + bool(remove)
        if (add or remove) and len(changes) < LISTED:
            changes.append(
                {
                    "customer_id": str(ids[at]),
                    "tier_from": held,
                    "tier_to": tier.name if tier else None,
                    "tags_add": add,
                    "tags_remove": remove,
                }
            )
    return {
        "would_tag": tag,
        "would_untag": untag,
        "changes": changes[:LISTED],
        "customers": index.size,
        "tiers": [rule.model_dump(mode="json") for rule in rules],
        "vip_dropoff_days": dropoff,
    }
