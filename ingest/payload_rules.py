"""What ingest checks and keeps of a signed webhook's payload before it goes to Kafka.

Shopify signs the body only, not the headers: a captured shop-level webhook (app/uninstalled or a
compliance topic) could be replayed with another shop's `X-Shopify-Shop-Domain`, so the shop its
payload names must be the header's. And no payload keeps personal data the worker never reads:
customers/* webhooks carry emails, phones and addresses, app/uninstalled the merchant's own;
Kafka would hold them in plain text for a week.
"""

from __future__ import annotations

from typing import Any

from shopify.topics import (
    APP_UNINSTALLED,
    CART_TOPICS,
    CUSTOMER_TOPICS,
    CUSTOMERS_CREATE,
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_REDACT,
    SHOP_REDACT,
)

# The payload field that names the shop, for the topics whose payload names one.
_SHOP_FIELD = {
    APP_UNINSTALLED: "myshopify_domain",
    SHOP_REDACT: "shop_domain",
    CUSTOMERS_REDACT: "shop_domain",
    CUSTOMERS_DATA_REQUEST: "shop_domain",
}

# What of a payload is kept (a nested dict keeps those fields of a nested object). Topics not
# listed are kept whole. customers/create: what a sign-up notification shows and what tells a
# sign-up from a guest checkout (streams/domain/notifications.py, `is_signup`), never the email,
# last name or phone; customers/update|delete: their id makes the record's key. The compliance
# topics: what streams/agents/compliance.py reads. carts/*: the cart's token, time and line
# items (never its note, which a shopper writes).
Keep = dict[str, "Keep | None"]
_KEPT: dict[str, Keep] = {
    **{topic: {"id": None} for topic in CUSTOMER_TOPICS},
    CUSTOMERS_CREATE: {
        "id": None,
        "first_name": None,
        "state": None,
        "created_at": None,
        "email_marketing_consent": {"state": None},
        "default_address": {"id": None, "city": None, "province": None, "country_code": None},
    },
    **{topic: {"id": None, "token": None, "updated_at": None, "line_items": None} for topic in CART_TOPICS},
    APP_UNINSTALLED: {"id": None, "myshopify_domain": None},
    CUSTOMERS_REDACT: {
        "shop_id": None,
        "shop_domain": None,
        "customer": {"id": None},
        "orders_to_redact": None,
    },
    CUSTOMERS_DATA_REQUEST: {
        "shop_id": None,
        "shop_domain": None,
        "customer": {"id": None},
        "orders_requested": None,
        "data_request": {"id": None},
    },
}


def names_another_shop(topic: str, shop: str, payload: dict[str, Any]) -> bool:
    """True when the payload of a shop-level topic does not name `shop` (the header's)."""
    field = _SHOP_FIELD.get(topic)
    if field is None:
        return False
    named = payload.get(field)
    return not isinstance(named, str) or named.lower() != shop


def _project(value: dict[str, Any], keep: Keep) -> dict[str, Any]:
    kept = {}
    for name, nested in keep.items():
        inner = value.get(name)
        if nested is None:
            if name in value:
                kept[name] = inner
        elif isinstance(inner, dict):
            kept[name] = _project(inner, nested)
    return kept


def kept_payload(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The part of the payload that goes to Kafka."""
    keep = _KEPT.get(topic)
    return payload if keep is None else _project(payload, keep)
