"""Order → purchase notification: what a public storefront may be shown about a sale."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from storepulse.contracts import Actor, Notification, ProductRef
from streams.fields import parse_time


def notification_id(shop: str, kind: str, cause: str, key: bytes = b"") -> str:
    """Stable id from what caused the notification, so a re-processed event is a no-op.

    Keyed so the public id does not reveal the (sequential) order id behind it.
    """
    digest = hashlib.blake2b(f"{shop}|{kind}|{cause}".encode(), key=key[:64], digest_size=12)
    return f"{kind}-{digest.hexdigest()}"


def _clean(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def buyer(order: dict[str, Any]) -> Actor:
    """First name, city and country code only; shops without protected-data access send blanks."""
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    address = next(
        (
            a
            for a in (
                order.get("shipping_address"),
                order.get("billing_address"),
                customer.get("default_address"),
            )
            if isinstance(a, dict)
        ),
        {},
    )
    return Actor(
        first_name=_clean(customer.get("first_name")) or _clean(address.get("first_name")),
        city=_clean(address.get("city")),
        country_code=_clean(address.get("country_code")),
    )


def first_product(shop: str, order: dict[str, Any], catalog: dict[str, Any] | None) -> ProductRef | None:
    items = order.get("line_items")
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None
    item = items[0]
    product_id = item.get("product_id")
    info = catalog or {}
    handle = info.get("handle")
    return ProductRef(
        id=str(product_id or ""),
        title=info.get("title") or _clean(item.get("title")) or "a product",
        url=f"https://{shop}/products/{handle}" if handle else None,
        image=info.get("image"),
    )


def describe(actor: Actor, product: ProductRef | None) -> tuple[str, str]:
    """(title, message) in English, with a fallback for every missing buyer field."""
    who = actor.first_name or "Someone"
    if actor.city and actor.country_code:
        who += f" in {actor.city}, {actor.country_code}"
    elif actor.city or actor.country_code:
        who += f" in {actor.city or actor.country_code}"
    what = product.title if product else "something"
    return f"{who} just bought", f"{who} just bought {what}"


def purchase_notification(
    shop: str,
    order: dict[str, Any],
    *,
    now: datetime,
    max_age_s: float,
    catalog: dict[str, Any] | None = None,
    id_key: bytes = b"",
) -> Notification | None:
    """The purchase notification for a new order, or None when it is too old to say "just"."""
    order_id = order.get("id")
    if order_id is None:
        return None
    occurred = parse_time(order.get("created_at")) or now
    if (now - occurred).total_seconds() > max_age_s:
        return None
    actor = buyer(order)
    product = first_product(shop, order, catalog)
    title, message = describe(actor, product)
    return Notification(
        id=notification_id(shop, "purchase", str(order_id), id_key),
        shop=shop,
        kind="purchase",
        title=title,
        message=message,
        product=product,
        actor=actor,
        occurred_at=occurred,
    )
