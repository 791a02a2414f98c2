"""A customer's standing as of a moment: days since last order, RFM segment, VIP tier (the highest
per-shop tier rule met) and the potential tier one order away."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from storepulse.contracts import ShopSettings, TierRule
from streams.domain.customer_metrics import days_since
from streams.domain.customer_state import CustomerState, RfmScores, customer_view
from streams.domain.fields import parse_time
from streams.domain.rfm import score
from streams.domain.tier_floor import floor_rule, higher

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

    def history_entry(self) -> dict[str, Any]:
        """What the customer's tier history (`customer-history:{shop}:{id}`) keeps of it."""
        return {k: v for k, v in self.__dict__.items() if k not in ("shop", "customer_id")}


def meets(rule: TierRule, orders: int, net_spent: Decimal) -> bool:
    """Either bound qualifies; a bound of 0 is not used."""
    return (rule.min_orders > 0 and orders >= rule.min_orders) or (
        rule.min_spent > 0 and net_spent >= rule.min_spent
    )


def tier_for(
    rules: list[TierRule], orders: int, net_spent: Decimal, days_since_last: float | None, dropoff_days: int
) -> TierRule | None:
    """The highest rule met (rules run lowest to highest); none after `dropoff_days` without a purchase."""
    if days_since_last is None or days_since_last > dropoff_days:
        return None
    held = [rule for rule in rules if meets(rule, orders, net_spent)]
    return held[-1] if held else None


def potential_tier(rules: list[TierRule], orders: int, net_spent: Decimal) -> TierRule | None:
    """The lowest rule not yet met that one more order would reach ("potential VIP")."""
    for rule in rules:
        if not meets(rule, orders, net_spent):
            return rule if rule.min_orders > 0 and orders == rule.min_orders - 1 else None
    return None


def tier_tags(
    rules: list[TierRule], before: str | None, after: TierRule | None
) -> tuple[list[str], list[str]]:
    """(tags to add, tags to remove) when a customer moves from tier `before` to `after`."""
    old_tag = next((r.tag for r in rules if r.name == before), None)
    add = [after.tag] if after and after.tag != old_tag else []
    remove = [old_tag] if old_tag and (not after or after.tag != old_tag) else []
    return add, remove


def refresh(state: CustomerState, settings: ShopSettings, now: datetime) -> TierChange | None:
    """Recompute the standing fields of `state` in place; the tier change they made, if any."""
    days = days_since(state, now)
    orders, net = state.orders_count, Decimal(state.net_spent)
    rfm = score(settings.rfm, days, orders, net)
    earned = tier_for(settings.tiers, orders, net, days, settings.vip_dropoff_days)
    # An imported or hand-set tier holds the customer up; what they earn still raises them.
    tier = higher(settings.tiers, earned, floor_rule(settings.tiers, state.tier_floor, now))
    potential = None if tier else potential_tier(settings.tiers, orders, net)
    before = state.tier
    state.days_since_last_order = int(days) if days is not None else None
    state.rfm = RfmScores(rfm.recency, rfm.frequency, rfm.monetary)
    state.segment = rfm.segment
    state.tier = tier.name if tier else None
    state.potential_tier = potential.name if potential else None
    if state.tier == before:
        return None
    add, remove = tier_tags(settings.tiers, before, tier)
    return TierChange(state.shop, state.customer_id, before, state.tier, add, remove, now.isoformat())


def read_model(state: CustomerState) -> dict[str, Any]:
    """The `vips:{shop}` hash value for a customer who holds a tier."""
    return {
        "tier": state.tier,
        "orders_count": state.orders_count,
        "total_spent": state.total_spent,
        "net_spent": state.net_spent,
    }


# A customer's row in `customers:{shop}`: what the merchant's customer list sorts and filters on.
# `days_since_last_order` is left out: it moves daily, the list computes it from `last_order_at`.
ROW_FIELDS = (
    "orders_count",
    "total_spent",
    "net_spent",
    "average_order_value",
    "currency",
    "tier",
    "potential_tier",
    "segment",
    "rfm",
    "first_order_at",
    "last_order_at",
)
DATE_FIELDS = ("first_order_at", "last_order_at")


def list_row(state: CustomerState) -> list[Any]:
    """The `customers:{shop}` hash value of a customer: `ROW_FIELDS` in order, without their
    names, dates as epoch seconds and RFM as [r, f, m]. Every customer of every shop has one, so
    its size is most of what the merchant app costs in Redis (a third of a keyed JSON object's)."""
    view = customer_view(state)
    for name in DATE_FIELDS:
        when = parse_time(view[name])
        view[name] = int(when.timestamp()) if when else None
    rfm = state.rfm
    view["rfm"] = [rfm.recency, rfm.frequency, rfm.monetary] if rfm else None
    return [view[k] for k in ROW_FIELDS]


def read_row(raw: Sequence[Any]) -> dict[str, Any]:
    """A `customers:{shop}` value by field name (dates stay epoch seconds)."""
    row = dict(zip(ROW_FIELDS, raw, strict=True))
    if row["rfm"]:
        row["rfm"] = dict(zip(("recency", "frequency", "monetary"), row["rfm"], strict=True))
    return row


def standing_of(state: CustomerState) -> tuple[object, ...]:
    """The fields of a customer's state that time alone can move."""
    return (state.days_since_last_order, state.segment, state.tier, state.potential_tier)


def drifted(state: CustomerState, settings: ShopSettings, now: datetime) -> bool:
    """Whether time alone moved this customer's standing (VIP dropoff, recency, days)."""
    probe = copy(state)
    refresh(probe, settings, now)
    return standing_of(probe) != standing_of(state)
