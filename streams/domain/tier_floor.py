"""An imported or hand-set tier: a floor under the customer's computed tier.

Merchants switching loyalty apps bring their customers' tiers along (admin/import_runs.py): the
customer keeps at least that tier until `until` (a day, inclusive; None: for good), and their
own orders still raise them. A floor is set, or removed, by a `storepulse/tier-floor` record on
the customer's partition; setting the floor a customer already holds changes nothing, so an
import run twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from storepulse.contracts import TierRule
from streams.domain.customer_state import CustomerState, TierFloor


def set_floor(state: CustomerState, payload: dict[str, Any]) -> bool:
    """Apply a `storepulse/tier-floor` payload (`tier` None removes the floor); True when the
    customer's floor changed."""
    tier = payload.get("tier")
    if not tier:
        changed = state.tier_floor is not None
        state.tier_floor = None
        return changed
    held = state.tier_floor
    until = payload.get("until")
    if held is not None and (held.tier, held.until) == (tier, until):
        return False
    state.tier_floor = TierFloor(tier, until, str(payload.get("source") or "manual"), payload.get("set_at"))
    return True


def holds(floor: TierFloor, today: date) -> bool:
    return floor.until is None or date.fromisoformat(floor.until) >= today


def floor_rule(rules: list[TierRule], floor: TierFloor | None, now: datetime) -> TierRule | None:
    """The rule a floor keeps the customer at today: None once it expired, or when the shop no
    longer has a tier of that name."""
    if floor is None or not holds(floor, now.date()):
        return None
    return next((rule for rule in rules if rule.name == floor.tier), None)


def higher(rules: list[TierRule], a: TierRule | None, b: TierRule | None) -> TierRule | None:
    """The higher of two tiers (rules run lowest to highest)."""
    if a is None or b is None:
        return a or b
    return a if rules.index(a) >= rules.index(b) else b
