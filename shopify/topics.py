"""Shopify's webhook topics that StorePulse consumes, named once.

Which Kafka topic each goes to is ingest/routing.py; which ones carry a whole order is
`WHOLE_ORDER` (the worker's metrics merge those; refunds and deletes name only an order).
"""

from __future__ import annotations

ORDERS_CREATE = "orders/create"
ORDERS_UPDATED = "orders/updated"
ORDERS_PAID = "orders/paid"
ORDERS_CANCELLED = "orders/cancelled"
ORDERS_FULFILLED = "orders/fulfilled"
ORDERS_PARTIALLY_FULFILLED = "orders/partially_fulfilled"
ORDERS_EDITED = "orders/edited"
ORDERS_DELETE = "orders/delete"
REFUNDS_CREATE = "refunds/create"

CUSTOMERS_CREATE = "customers/create"
CUSTOMERS_UPDATE = "customers/update"
CUSTOMERS_DELETE = "customers/delete"

PRODUCTS_CREATE = "products/create"
PRODUCTS_UPDATE = "products/update"
PRODUCTS_DELETE = "products/delete"

INVENTORY_LEVELS_UPDATE = "inventory_levels/update"
CARTS_CREATE = "carts/create"
CARTS_UPDATE = "carts/update"

APP_UNINSTALLED = "app/uninstalled"
# The mandatory compliance topics: configured in the app's configuration, not through the API.
CUSTOMERS_DATA_REQUEST = "customers/data_request"
CUSTOMERS_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"

ORDER_TOPICS = (ORDERS_CREATE, ORDERS_UPDATED, ORDERS_PAID, ORDERS_CANCELLED, ORDERS_FULFILLED, ORDERS_DELETE)
CUSTOMER_TOPICS = (CUSTOMERS_CREATE, CUSTOMERS_UPDATE, CUSTOMERS_DELETE)
PRODUCT_TOPICS = (PRODUCTS_CREATE, PRODUCTS_UPDATE, PRODUCTS_DELETE)
CART_TOPICS = (CARTS_CREATE, CARTS_UPDATE)
COMPLIANCE_TOPICS = (CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT)
SHOP_TOPICS = (APP_UNINSTALLED, *COMPLIANCE_TOPICS)

# Topics whose payload is a whole order.
WHOLE_ORDER = frozenset(
    {
        ORDERS_CREATE,
        ORDERS_UPDATED,
        ORDERS_PAID,
        ORDERS_CANCELLED,
        ORDERS_FULFILLED,
        ORDERS_PARTIALLY_FULFILLED,
        ORDERS_EDITED,
    }
)
