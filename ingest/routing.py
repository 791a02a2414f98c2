"""Which Kafka topic and key a Shopify webhook topic goes to (DESIGN.md topic table)."""

from __future__ import annotations

from typing import Any

from storepulse.contracts import TOPIC_ORDERS, TOPIC_PRODUCTS


def _order_key(shop: str, payload: dict[str, Any]) -> str:
    # Keyed by customer so one worker partition owns each customer's metrics.
    customer = payload.get("customer") or {}
    owner = customer.get("id") if isinstance(customer, dict) else None
    return f"{shop}/{owner or payload.get('id', '')}"


def _product_key(shop: str, payload: dict[str, Any]) -> str:
    return f"{shop}/{payload.get('id', '')}"


ROUTES = {
    "orders/create": (TOPIC_ORDERS, _order_key),
    "products/create": (TOPIC_PRODUCTS, _product_key),
    "products/update": (TOPIC_PRODUCTS, _product_key),
    "products/delete": (TOPIC_PRODUCTS, _product_key),
}


def route(topic: str, shop: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(kafka topic, key) for a webhook, or None when the topic is not one we consume."""
    entry = ROUTES.get(topic)
    if entry is None:
        return None
    kafka_topic, key_of = entry
    return kafka_topic, key_of(shop, payload)
