"""Which Kafka topic and key a Shopify webhook topic goes to (docs/architecture.md, Kafka topics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopify.topics import (
    CART_TOPICS,
    COMPLIANCE_TOPICS,
    CUSTOMER_TOPICS,
    INVENTORY_LEVELS_UPDATE,
    ORDER_TOPICS,
    PRODUCT_TOPICS,
    REFUNDS_CREATE,
    SHOP_TOPICS,
)
from storepulse.kafka_topics import (
    TOPIC_CARTS,
    TOPIC_CUSTOMERS,
    TOPIC_INVENTORY,
    TOPIC_ORDERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    item_key,
    shop_key,
)

KeyOf = Callable[[str, dict[str, Any]], bytes]


def _id(value: Any) -> str:
    # Only scalar ids make a key; anything else (a signed but odd payload) keys by shop alone.
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""


def _order_key(shop: str, payload: dict[str, Any]) -> bytes:
    # Keyed by customer so one worker partition owns each customer's metrics. orders/delete
    # carries only the order id, refunds/create only `order_id`: those key by the order.
    customer = payload.get("customer")
    owner = _id(customer.get("id")) if isinstance(customer, dict) else ""
    return item_key(shop, owner or _id(payload.get("id")))


def _refund_key(shop: str, payload: dict[str, Any]) -> bytes:
    return item_key(shop, _id(payload.get("order_id")))


def _resource_key(shop: str, payload: dict[str, Any]) -> bytes:
    return item_key(shop, _id(payload.get("id")))


def _shop_key(shop: str, _: dict[str, Any]) -> bytes:
    return shop_key(shop)


ROUTES: dict[str, tuple[str, KeyOf]] = {
    **{t: (TOPIC_ORDERS, _order_key) for t in ORDER_TOPICS},
    REFUNDS_CREATE: (TOPIC_ORDERS, _refund_key),
    **{t: (TOPIC_CUSTOMERS, _resource_key) for t in CUSTOMER_TOPICS},
    **{t: (TOPIC_PRODUCTS, _resource_key) for t in PRODUCT_TOPICS},
    # Keyed by shop: a product's stock sums items that name no product (streams/domain/stock.py).
    INVENTORY_LEVELS_UPDATE: (TOPIC_INVENTORY, _shop_key),
    # Keyed by shop: a cart holds many products, whose counts all live on the shop's partition.
    **{t: (TOPIC_CARTS, _shop_key) for t in CART_TOPICS},
    **{t: (TOPIC_SHOP, _shop_key) for t in SHOP_TOPICS},
}
# The topics the install flow subscribes each shop to (compliance topics are configured
# in the app's settings on Shopify, not through the Admin API).
SUBSCRIBED_TOPICS = tuple(t for t in ROUTES if t not in COMPLIANCE_TOPICS)


def route(topic: str, shop: str, payload: dict[str, Any]) -> tuple[str, bytes] | None:
    """(kafka topic, key) for a webhook, or None when the topic is not one we consume."""
    entry = ROUTES.get(topic)
    if entry is None:
        return None
    kafka_topic, key_of = entry
    return kafka_topic, key_of(shop, payload)
