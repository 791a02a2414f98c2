"""Stock per product from inventory levels: when a product runs low and when it is back.

Shopify reports stock per inventory item (a variant) and location (`inventory_levels/update`);
products/* webhooks say which product each item belongs to and whether Shopify tracks its
stock (`inventory_management: "shopify"`). A product's stock is the sum over its tracked items
and their locations. One state per shop holds it all, so an inventory level that arrives before
its product is kept and counted once the product is known.

A product is `out` (0 or less), `low` (at most the shop's threshold) or `ok`. Falling to `low`
from `ok` (or from not known) says "Only 3 left" once; not again until it has been `ok`.
Rising from `out` says "back in stock". Untracked products are never announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from streams.domain.fields import parse_time

Phase = Literal["out", "low", "ok"]
Change = Literal["low_stock", "back_in_stock"]
# A products/* webhook's items have no location yet: their `inventory_quantity` stands for all
# of them until a level of the item arrives.
ALL_LOCATIONS = "*"


@dataclass(frozen=True)
class Crossing:
    product_id: str
    change: Change
    available: int
    seq: int  # how many times the product crossed: names the notification
    title: str | None


def _id(value: Any) -> str | None:
    return (
        str(value) if isinstance(value, int | str) and not isinstance(value, bool) and value != "" else None
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def empty() -> dict[str, Any]:
    # items: {item: product}; tracked: [item]; levels: {item: {location: [available, updated_at]}};
    # phase: {product: Phase}; seq: {product: crossings}; titles: {product: title}.
    return {"items": {}, "tracked": [], "levels": {}, "phase": {}, "seq": {}, "titles": {}}


def available(state: dict[str, Any], product_id: str) -> int | None:
    """The product's stock summed over its tracked items and locations; None when not known."""
    tracked = set(state["tracked"])
    counts = [
        level[0]
        for item, product in state["items"].items()
        if product == product_id and item in tracked
        for level in state["levels"].get(item, {}).values()
    ]
    return sum(counts) if counts else None


def _phase(count: int, threshold: int) -> Phase:
    return "out" if count <= 0 else "low" if count <= threshold else "ok"


def _evaluate(state: dict[str, Any], product_id: str, threshold: int) -> Crossing | None:
    count = available(state, product_id)
    if count is None:
        return None
    before, now = state["phase"].get(product_id), _phase(count, threshold)
    state["phase"][product_id] = now
    change: Change
    if before == "out" and now != "out":
        change = "back_in_stock"
    elif now == "low" and before in (None, "ok"):
        change = "low_stock"
    else:
        return None
    seq = state["seq"].get(product_id, 0) + 1
    state["seq"][product_id] = seq
    return Crossing(product_id, change, count, seq, state["titles"].get(product_id))


def apply_product(
    state: dict[str, Any], product: dict[str, Any], threshold: int, deleted: bool = False
) -> Crossing | None:
    """A products/create|update (or delete): learn its items and whether each is tracked."""
    product_id = _id(product.get("id"))
    if product_id is None:
        return None
    mine = {item for item, owner in state["items"].items() if owner == product_id}
    variants = [] if deleted else product.get("variants")
    seen: dict[str, tuple[bool, int | None]] = {}
    for variant in variants if isinstance(variants, list) else []:
        item = _id(variant.get("inventory_item_id")) if isinstance(variant, dict) else None
        if item is not None:
            seen[item] = (
                variant.get("inventory_management") == "shopify",
                _int(variant.get("inventory_quantity")),
            )
    tracked = set(state["tracked"])
    for item in mine - set(seen):
        state["items"].pop(item, None)
        state["levels"].pop(item, None)
        tracked.discard(item)
    for item, (is_tracked, quantity) in seen.items():
        state["items"][item] = product_id
        (tracked.add if is_tracked else tracked.discard)(item)
        levels = state["levels"].setdefault(item, {})
        if quantity is not None and set(levels) <= {ALL_LOCATIONS}:
            levels[ALL_LOCATIONS] = [quantity, 0.0]
    state["tracked"] = sorted(tracked)
    if deleted:
        for table in ("phase", "seq", "titles"):
            state[table].pop(product_id, None)
        return None
    if isinstance(product.get("title"), str):
        state["titles"][product_id] = product["title"]
    return _evaluate(state, product_id, threshold)


def apply_level(state: dict[str, Any], level: dict[str, Any], threshold: int) -> Crossing | None:
    """An inventory_levels/update. An older report of an item at a location than the one held
    (Shopify does not keep order) changes nothing."""
    item, location = _id(level.get("inventory_item_id")), _id(level.get("location_id"))
    count, at = _int(level.get("available")), parse_time(level.get("updated_at"))
    if item is None or location is None or count is None or at is None:
        return None
    levels = state["levels"].setdefault(item, {})
    held = levels.get(location)
    if held is not None and held[1] >= at.timestamp():
        return None
    levels.pop(ALL_LOCATIONS, None)  # real levels replace the product webhook's total
    levels[location] = [count, at.timestamp()]
    product_id = state["items"].get(item)
    return _evaluate(state, product_id, threshold) if product_id is not None else None
