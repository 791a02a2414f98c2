"""Event contracts shared by ingest, streams and push (DESIGN.md is the source of truth)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# Kafka topics.
TOPIC_ORDERS = "shopify.orders"
TOPIC_CUSTOMERS = "shopify.customers"
TOPIC_PRODUCTS = "shopify.products"
TOPIC_SHOP = "shopify.shop"
TOPIC_BEACONS = "widget.beacons"
TOPIC_NOTIFICATIONS = "notifications"
TOPIC_CUSTOMER_CHANGES = "customer.changes"
TOPIC_SHOP_SETTINGS = "shop.settings"

ALL_TOPICS = (
    TOPIC_ORDERS,
    TOPIC_CUSTOMERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    TOPIC_BEACONS,
    TOPIC_NOTIFICATIONS,
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_SHOP_SETTINGS,
)
COMPACTED_TOPICS = frozenset({TOPIC_SHOP_SETTINGS})

_SHOP_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com$")


def is_shop_domain(value: str) -> bool:
    """True for a syntactically valid `name.myshopify.com` domain (lower case)."""
    return bool(_SHOP_RE.match(value))


# Redis keys.
def notification_channel(shop: str) -> str:
    return f"notifications:{shop}"


def recent_stream(shop: str) -> str:
    return f"recent:{shop}"


class WebhookEnvelope(BaseModel):
    """One Shopify webhook delivery as ingest produced it."""

    model_config = ConfigDict(extra="ignore")

    webhook_id: str
    event_id: str | None = None
    topic: str
    shop: str
    api_version: str | None = None
    triggered_at: str | None = None
    received_at: datetime
    payload: dict[str, Any]


class ProductRef(BaseModel):
    id: str
    title: str
    url: str | None = None
    image: str | None = None


class Actor(BaseModel):
    """The only facts about a buyer a storefront may see."""

    first_name: str | None = None
    city: str | None = None
    country_code: str | None = None


NotificationKind = Literal["purchase", "trending", "viewing"]


class Notification(BaseModel):
    """What a storefront may see. Never email, last name, phone, address, order or customer id."""

    model_config = ConfigDict(extra="forbid")

    id: str
    shop: str
    kind: NotificationKind
    title: str
    message: str
    product: ProductRef | None = None
    actor: Actor | None = None
    occurred_at: datetime
    # Epoch milliseconds when streams published it: lets clients measure delivery latency.
    published_at: float | None = None
