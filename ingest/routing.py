"""Which Kafka topic and key a Shopify webhook topic goes to (DESIGN.md topic table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storepulse.contracts import TOPIC_CUSTOMERS, TOPIC_ORDERS, TOPIC_PRODUCTS, TOPIC_SHOP

KeyOf = Callable[[str, dict[str, Any]], str]


def _id(value: Any) -> str:
    # Only scalar ids make a key; anything else (a signed but odd payload) keys by shop alone.
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""


def _order_key(shop: str, payload: dict[str, Any]) -> str:
    # Keyed by customer so one worker partition owns each customer's metrics. orders/delete
    # carries only the order id, refunds/create only `order_id`: those key by the order.
    customer = payload.get("customer")
    owner = _id(customer.get("id")) if isinstance(customer, dict) else ""
    return f"{shop}/{owner or _id(payload.get('id'))}"


def _refund_key(shop: str, payload: dict[str, Any]) -> str:
    return f"{shop}/{_id(payload.get('order_id'))}"


def _resource_key(shop: str, payload: dict[str, Any]) -> str:
    return f"{shop}/{_id(payload.get('id'))}"


def _shop_key(shop: str, _: dict[str, Any]) -> str:
    return shop


ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/delete",
)
CUSTOMER_TOPICS = ("customers/create", "customers/update", "customers/delete")
PRODUCT_TOPICS = ("products/create", "products/update", "products/delete")
# app/uninstalled and the mandatory compliance topics.
SHOP_TOPICS = ("app/uninstalled", "customers/data_request", "customers/redact", "shop/redact")

ROUTES: dict[str, tuple[str, KeyOf]] = {
    **{t: (TOPIC_ORDERS, _order_key) for t in ORDER_TOPICS},
    "refunds/create": (TOPIC_ORDERS, _refund_key),
    **{t: (TOPIC_CUSTOMERS, _resource_key) for t in CUSTOMER_TOPICS},
    **{t: (TOPIC_PRODUCTS, _resource_key) for t in PRODUCT_TOPICS},
    **{t: (TOPIC_SHOP, _shop_key) for t in SHOP_TOPICS},
}
# The topics the install flow subscribes each shop to (compliance topics are configured
# in the app's settings on Shopify, not through the Admin API).
SUBSCRIBED_TOPICS = tuple(t for t in ROUTES if t not in SHOP_TOPICS[1:])


def route(topic: str, shop: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(kafka topic, key) for a webhook, or None when the topic is not one we consume."""
    entry = ROUTES.get(topic)
    if entry is None:
        return None
    kafka_topic, key_of = entry
    return kafka_topic, key_of(shop, payload)
