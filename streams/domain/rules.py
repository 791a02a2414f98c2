"""A shop's notification rules: which notifications it shows and how much of the buyer."""

from __future__ import annotations

from storepulse.contracts import Actor, NotificationKind, ShopSettings


def shows(rules: ShopSettings, kind: NotificationKind, product_id: str | None = None) -> bool:
    """True when the shop shows this kind of notification about this product."""
    return kind in rules.enabled_kinds and (product_id is None or product_id not in rules.excluded_products)


def visible_buyer(actor: Actor, rules: ShopSettings) -> Actor | None:
    """The part of the buyer the shop chose to show: name and city, city only, or nothing."""
    if rules.buyer_display == "anonymous":
        return None
    if rules.buyer_display == "city":
        return Actor(city=actor.city, country_code=actor.country_code)
    return actor
