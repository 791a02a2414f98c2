"""What a public storefront may be shown: purchases, trending products, live viewers, sign-ups.

Each notification is rendered in every language the shop enabled (`messages`): words that
depend on the language (who bought, a country's name, "this item") are fields given as a
function of the language, `Localized`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from storepulse.contracts import Actor, Notification, NotificationKind, ProductRef, ShopSettings, Text
from storepulse.kafka_topics import item_key
from streams.domain import templates
from streams.domain.fields import money, parse_time

# A field whose words depend on the language: called with each language the shop enabled.
Localized = Callable[[str], object]


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


@dataclass(frozen=True)
class Product:
    """A product as a notification names it: by its title when known, else by each language's
    "this item"."""

    id: str
    title: str | None
    url: str | None
    image: str | None

    def name(self, lang: str) -> str:
        return self.title or templates.this_product(lang)

    def ref(self, lang: str) -> ProductRef:
        return ProductRef(id=self.id, title=self.name(lang), url=self.url, image=self.image)


def listed(shop: str, product_id: str, catalog: Mapping[bytes, Any]) -> bool:
    """False for a product the catalog says may not be announced (deleted, archived, draft,
    unpublished: streams/agents/catalog.py); True for one it holds as listed or does not know."""
    info = catalog.get(item_key(shop, product_id))
    return info is None or info.get("listed", True)


def product_of(
    shop: str, product_id: str, catalog: Mapping[bytes, Any], fallback_title: str | None = None
) -> Product:
    """The product as the catalog describes it; a line item's title otherwise."""
    info = catalog.get(item_key(shop, product_id)) or {}
    handle = info.get("handle")
    return Product(
        id=product_id,
        title=info.get("title") or fallback_title,
        url=f"https://{shop}/products/{handle}" if handle else None,
        image=info.get("image"),
    )


def _shown_item(
    shop: str, order: dict[str, Any], rules: ShopSettings, catalog: Mapping[bytes, Any]
) -> dict[str, Any] | None:
    """The first line item of a listed product the shop does not exclude."""
    items = order.get("line_items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        product_id = str(item.get("product_id") or "")
        if shows(rules, "purchase", product_id) and listed(shop, product_id, catalog):
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
    or unlisted products, or an order too old to say "just bought".
    """
    order_id = order.get("id")
    if order_id is None or money(order.get("total_price")) < rules.min_order_value:
        return None
    occurred = parse_time(order.get("created_at")) or now
    item = _shown_item(shop, order, rules, catalog)
    if item is None or (now - occurred).total_seconds() > rules.max_purchase_age_s:
        return None
    product = product_of(shop, str(item.get("product_id") or ""), catalog, _clean(item.get("title")))
    actor = visible_buyer(buyer(order), rules)
    region = _clean(_address(order).get("province"))
    return rendered(
        "purchase",
        shop,
        str(order_id),
        rules,
        occurred,
        id_key,
        product=product,
        actor=actor,
        who=lambda lang: who_phrase(actor, region, lang),
    )


def product_activity_notification(
    kind: Literal["trending", "viewing", "low_stock", "back_in_stock", "cart"],
    shop: str,
    product_id: str,
    count: int | None,
    *,
    cause: str,
    occurred_at: datetime,
    rules: ShopSettings,
    catalog: Mapping[bytes, Any],
    fallback_title: str | None = None,
    id_key: bytes = b"",
) -> Notification | None:
    """ "N people bought this", "N people are viewing this", "Only N left", "back in stock" (no
    count), or None when the shop hides it.

    `cause` names what made it (a threshold and the order that crossed it, or a minute), so
    the id repeats when the same cause is processed again.
    """
    if not shows(rules, kind, product_id) or not listed(shop, product_id, catalog):
        return None
    product = product_of(shop, product_id, catalog, fallback_title)
    cause = f"{product_id}|{cause}"
    if count is None:
        return rendered(kind, shop, cause, rules, occurred_at, id_key, product=product)
    return rendered(kind, shop, cause, rules, occurred_at, id_key, product=product, count=count)


def visitors_notification(
    shop: str, count: int, *, cause: str, occurred_at: datetime, rules: ShopSettings, id_key: bytes = b""
) -> Notification | None:
    """ "128 shoppers on the store right now", or None when the shop hides it. `cause` names the
    announcement (its five minutes), so the id repeats when the same batch is processed again."""
    if not shows(rules, "visitors"):
        return None
    return rendered("visitors", shop, cause, rules, occurred_at, id_key, count=count)


# Account states of a customer who made an account (invited: the merchant asked them to).
_ACCOUNT_STATES = frozenset({"enabled", "invited"})


def is_signup(customer: dict[str, Any]) -> bool:
    """True for a new account or a newsletter sign-up, False for a guest checkout's record.

    A guest checkout makes a customer in state "disabled" holding the checkout's address; a
    newsletter form makes one in state "disabled" subscribed to email marketing with no address
    (it asks for an email only). docs/notification-kinds.md explains the rule.
    """
    if customer.get("state") in _ACCOUNT_STATES:
        return True
    consent = customer.get("email_marketing_consent")
    subscribed = isinstance(consent, dict) and consent.get("state") == "subscribed"
    return subscribed and customer.get("default_address") is None


def signup_notification(
    shop: str, customer: dict[str, Any], *, now: datetime, rules: ShopSettings, id_key: bytes = b""
) -> Notification | None:
    """ "Someone in Bergen, Norway just joined" for a customers/create that is a sign-up, or None
    when it is not one or the shop hides sign-ups. Only a first name and a place, never an email,
    last name or phone."""
    customer_id = customer.get("id")
    if customer_id is None or not shows(rules, "signup") or not is_signup(customer):
        return None
    address = customer.get("default_address")
    address = address if isinstance(address, dict) else {}
    actor = visible_buyer(
        Actor(
            first_name=_clean(customer.get("first_name")),
            city=_clean(address.get("city")),
            country_code=_clean(address.get("country_code")),
        ),
        rules,
    )
    region = _clean(address.get("province"))
    return rendered(
        "signup",
        shop,
        str(customer_id),
        rules,
        parse_time(customer.get("created_at")) or now,
        id_key,
        actor=actor,
        who=lambda lang: who_phrase(actor, region, lang),
    )


EXCERPT_CHARS = 120


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text whole when it fits in `limit` characters, else cut at a word and ended with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,.;:") + "…"


def review_notification(
    shop: str,
    event: dict[str, Any],
    *,
    rules: ShopSettings,
    catalog: Mapping[bytes, Any],
    id_key: bytes = b"",
) -> Notification | None:
    """ "★★★★★ Maya K. on Cloud Hoodie: “Softest thing I own”" for a review from the events API, or
    None below the shop's minimum rating or when it hides reviews. The author is shown as the
    review app sent it; the id comes from the event's idempotency key, so a re-post is a no-op."""
    product_id = str(event.get("product_id") or "")
    rating = event.get("rating")
    text = _clean(event.get("message"))
    if not isinstance(rating, int) or rating < rules.review_min_rating or not text or not product_id:
        return None
    if not shows(rules, "review", product_id) or not listed(shop, product_id, catalog):
        return None
    author = _clean(event.get("author"))
    return rendered(
        "review",
        shop,
        str(event["idempotency_key"]),
        rules,
        parse_time(event.get("occurred_at")) or datetime.now(UTC),
        id_key,
        product=product_of(shop, product_id, catalog, _clean(event.get("title"))),
        actor=Actor(first_name=author) if author else None,
        stars="★" * rating,
        author=lambda lang: author or templates.who(None, None, lang),
        excerpt=excerpt(text),
    )


def who_phrase(actor: Actor | None, region: str | None, lang: str) -> str:
    """ "Maya in Austin, United States", "Someone in Troms, Norway", or "Someone", in `lang`."""
    where = templates.place(actor.city, region, actor.country_code, lang) if actor else None
    return templates.who(actor.first_name if actor else None, where, lang)


def rendered(
    kind: NotificationKind,
    shop: str,
    cause: str,
    rules: ShopSettings,
    occurred_at: datetime,
    id_key: bytes,
    *,
    product: Product | None = None,
    actor: Actor | None = None,
    **fields: object | Localized,
) -> Notification:
    """The notification in the shop's words, in each of its languages (the default's also as
    `title`/`message`); its id from `cause`, so the same cause processed again makes the same one."""
    if product is not None:
        fields["product"] = product.name
    langs = templates.languages(rules.languages, rules.templates)
    messages = {}
    for lang in langs:
        values = {name: value(lang) if callable(value) else value for name, value in fields.items()}
        title, message = templates.render(kind, lang, rules.templates, **values)
        messages[lang] = Text(title=title, message=message)
    default = langs[0]
    return Notification(
        id=notification_id(shop, kind, cause, id_key),
        shop=shop,
        kind=kind,
        title=messages[default].title,
        message=messages[default].message,
        product=product.ref(default) if product else None,
        actor=actor,
        occurred_at=occurred_at,
        lang=default,
        messages=messages,
        display=rules.widget.display(),
        experiment=rules.analytics.holdout(),
    )
