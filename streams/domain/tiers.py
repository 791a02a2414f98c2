"""VIP tiers: which per-shop tier a customer holds, which one they are one order short of."""

from __future__ import annotations

from decimal import Decimal

from storepulse.contracts import TierRule


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
