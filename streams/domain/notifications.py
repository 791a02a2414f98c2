"""What a public storefront may be shown: purchases, trending products, live viewers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from storepulse.contracts import Actor, Notification, NotificationKind, ProductRef, ShopSettings
from storepulse.kafka_topics import item_key
from streams.domain import templates
from streams.domain.fields import money, parse_time


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


def notification_id(shop: str, kind: str, cause: str, key: bytes = b"") -> str:
    """Stable id from what caused the notification, so a re-processed event is a no-op.

    Keyed so the public id does not reveal the (sequential) order id behind it.
    """
    digest = hashlib.blake2b(f"{shop}|{kind}|{cause}".encode(), key=key[:64], digest_size=12)
    return f"{kind}-{digest.hexdigest()}"


def _clean(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _customer(order: dict[str, Any]) -> dict[str, Any]:
    customer = order.get("customer")
    return customer if isinstance(customer, dict) else {}


def _address(order: dict[str, Any]) -> dict[str, Any]:
    customer = _customer(order)
    return next(
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


def buyer(order: dict[str, Any]) -> Actor:
    """First name, city and country code only; shops without protected-data access send blanks."""
    customer = _customer(order)
    address = _address(order)
    return Actor(
        first_name=_clean(customer.get("first_name")) or _clean(address.get("first_name")),
        city=_clean(address.get("city")),
        country_code=_clean(address.get("country_code")),
    )


def product_ref(
    shop: str, product_id: str, catalog: Mapping[bytes, Any], lang: str, fallback_title: str | None = None
) -> ProductRef:
    """The product as the catalog describes it; a line item's title or "this item" otherwise."""
    info = catalog.get(item_key(shop, product_id)) or {}
    handle = info.get("handle")
    return ProductRef(
        id=product_id,
        title=info.get("title") or fallback_title or templates.this_product(lang),
        url=f"https://{shop}/products/{handle}" if handle else None,
        image=info.get("image"),
    )


def _shown_item(order: dict[str, Any], rules: ShopSettings) -> dict[str, Any] | None:
    """The first line item of a product the shop does not exclude."""
    items = order.get("line_items")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and shows(rules, "purchase", str(item.get("product_id") or "")):
            return item
    return None


def purchase_notification(
    shop: str,
    order: dict[str, Any],
    *,
    now: datetime,
    rules: ShopSettings,
    catalog: Mapping[bytes, Any],
    id_key: bytes = b"",
) -> Notification | None:
    """The purchase notification for a new order, or None when the shop's rules hide it.

    Hidden: purchase notifications disabled, an order below the minimum value, only excluded
    products, or an order too old to say "just bought".
    """
    order_id = order.get("id")
    if order_id is None or money(order.get("total_price")) < rules.min_order_value:
        return None
    occurred = parse_time(order.get("created_at")) or now
    item = _shown_item(order, rules)
    if item is None or (now - occurred).total_seconds() > rules.max_purchase_age_s:
        return None
    lang = templates.language(rules.language, rules.templates)
    product = product_ref(shop, str(item.get("product_id") or ""), catalog, lang, _clean(item.get("title")))
    actor = visible_buyer(buyer(order), rules)
    where = None
    if actor is not None:
        region = _clean(_address(order).get("province"))
        where = templates.place(actor.city, region, actor.country_code, lang)
    who = templates.who(actor.first_name if actor else None, where, lang)
    return _rendered(
        "purchase", shop, str(order_id), lang, rules, product, occurred, id_key, actor=actor, who=who
    )


def product_activity_notification(
    kind: Literal["trending", "viewing"],
    shop: str,
    product_id: str,
    count: int,
    *,
    cause: str,
    occurred_at: datetime,
    rules: ShopSettings,
    catalog: Mapping[bytes, Any],
    fallback_title: str | None = None,
    id_key: bytes = b"",
) -> Notification | None:
    """ "N people bought this" / "N people are viewing this", or None when the shop hides it.

    `cause` names what made it (a threshold and the order that crossed it, or a minute), so
    the id repeats when the same cause is processed again.
    """
    if not shows(rules, kind, product_id):
        return None
    lang = templates.language(rules.language, rules.templates)
    product = product_ref(shop, product_id, catalog, lang, fallback_title)
    return _rendered(
        kind, shop, f"{product_id}|{cause}", lang, rules, product, occurred_at, id_key, count=count
    )


def _rendered(
    kind: NotificationKind,
    shop: str,
    cause: str,
    lang: str,
    rules: ShopSettings,
    product: ProductRef,
    occurred_at: datetime,
    id_key: bytes,
    actor: Actor | None = None,
    **fields: object,
) -> Notification:
    """The notification with its title and message rendered in the shop's words."""
    title, message = templates.render(kind, lang, rules.templates, product=product.title, **fields)
    return Notification(
        id=notification_id(shop, kind, cause, id_key),
        shop=shop,
        kind=kind,
        title=title,
        message=message,
        product=product,
        actor=actor,
        occurred_at=occurred_at,
        lang=lang,
        display=rules.widget.display(),
    )
