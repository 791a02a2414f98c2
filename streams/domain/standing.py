"""A customer's standing: days since last order, RFM segment and VIP tier, as of a moment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from storepulse.contracts import ShopSettings
from streams.domain.customer_metrics import days_since
from streams.domain.customer_state import CustomerState, RfmScores
from streams.domain.rfm import score
from streams.domain.tiers import potential_tier, tier_for

# Where a shop's settings come from (the `shop.settings` global table in the worker).
SettingsFor = Callable[[str], ShopSettings]


@dataclass(frozen=True)
class TierChange:
    """A customer gained, lost or changed tier: the `customer.changes` record."""

    shop: str
    customer_id: str
    tier_from: str | None
    tier_to: str | None
    tags_add: list[str]
    tags_remove: list[str]
    at: str

    def record(self) -> dict[str, Any]:
        return {"kind": "tier", **self.__dict__}


def refresh(state: CustomerState, settings: ShopSettings, now: datetime) -> TierChange | None:
    """Recompute the standing fields of `state` in place; the tier change they made, if any."""
    days = days_since(state, now)
    orders, net = state.orders_count, Decimal(state.net_spent)
    rfm = score(settings.rfm, days, orders, net)
    tier = tier_for(settings.tiers, orders, net, days, settings.vip_dropoff_days)
    potential = None if tier else potential_tier(settings.tiers, orders, net)
    before = state.tier
    state.days_since_last_order = int(days) if days is not None else None
    state.rfm = RfmScores(rfm.recency, rfm.frequency, rfm.monetary)
    state.segment = rfm.segment
    state.tier = tier.name if tier else None
    state.potential_tier = potential.name if potential else None
    if state.tier == before:
        return None
    old_tag = next((r.tag for r in settings.tiers if r.name == before), None)
    add = [tier.tag] if tier and tier.tag != old_tag else []
    remove = [old_tag] if old_tag and (not tier or tier.tag != old_tag) else []
    return TierChange(state.shop, state.customer_id, before, state.tier, add, remove, now.isoformat())


def read_model(state: CustomerState) -> dict[str, Any]:
    """The `vips:{shop}` hash value for a customer who holds a tier."""
    return {
        "tier": state.tier,
        "orders_count": state.orders_count,
        "total_spent": state.total_spent,
        "net_spent": state.net_spent,
    }
