"""Event contracts shared by ingest, streams and push (DESIGN.md is the source of truth)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

# Kafka topics.
TOPIC_ORDERS = "shopify.orders"
TOPIC_CUSTOMERS = "shopify.customers"
TOPIC_PRODUCTS = "shopify.products"
TOPIC_SHOP = "shopify.shop"
TOPIC_BEACONS = "widget.beacons"
TOPIC_NOTIFICATIONS = "notifications"
TOPIC_CUSTOMER_CHANGES = "customer.changes"
TOPIC_SHOP_SETTINGS = "shop.settings"
# Tag write-backs that failed for good (value: the change plus the reason).
TOPIC_CUSTOMER_CHANGES_DLQ = "customer.changes.dlq"
# Internal to streams: events re-keyed to the partition that owns them.
TOPIC_CUSTOMER_EVENTS = "streams.customer-events"  # key `{shop}/{customer_id}`
TOPIC_ORDER_EVENTS = "streams.order-events"  # key `{shop}/{order_id}`

ALL_TOPICS = (
    TOPIC_ORDERS,
    TOPIC_CUSTOMERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    TOPIC_BEACONS,
    TOPIC_NOTIFICATIONS,
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_SHOP_SETTINGS,
    TOPIC_CUSTOMER_CHANGES_DLQ,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_ORDER_EVENTS,
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


def envelope_bytes(
    *,
    webhook_id: str,
    topic: str,
    shop: str,
    payload: dict[str, Any],
    event_id: str | None = None,
    api_version: str | None = None,
    triggered_at: str | None = None,
) -> bytes:
    """A `WebhookEnvelope` as the JSON bytes ingest and backfill produce, received now."""
    return orjson.dumps(
        {
            "webhook_id": webhook_id,
            "event_id": event_id,
            "topic": topic,
            "shop": shop,
            "api_version": api_version,
            "triggered_at": triggered_at,
            "received_at": datetime.now(UTC),
            "payload": payload,
        }
    )


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
    # BCP 47 language of title/message; the widget lays ar/he out right-to-left.
    lang: str = "en"
    # Epoch milliseconds when streams published it: lets clients measure delivery latency.
    published_at: float | None = None


BeaconType = Literal["impression", "click", "dismiss", "page_view"]


class Beacon(BaseModel):
    """A widget beacon as ingest produces it to `widget.beacons` (key `{shop}`)."""

    model_config = ConfigDict(extra="forbid")

    shop: str
    type: BeaconType
    # Random id the widget keeps per browser (localStorage); never a customer id.
    visitor: str = Field(min_length=8, max_length=64)
    product_id: str | None = Field(None, max_length=32)
    notification_id: str | None = Field(None, max_length=64)
    received_at: datetime


class RfmThresholds(BaseModel):
    """Bounds for scores 5..2 (anything past the last bound scores 1); segments: streams/domain/rfm.py."""

    recency_days: list[int] = [30, 90, 180, 365]  # days since last order: fewer is better
    frequency: list[int] = [10, 5, 3, 2]  # orders: at least this many
    monetary: list[Decimal] = [Decimal(1000), Decimal(500), Decimal(200), Decimal(50)]  # net spent


class TierRule(BaseModel):
    """A customer holds the tier while they meet either bound (0 = bound not used).

    `ShopSettings.tiers` lists rules from lowest to highest; a customer holds the highest met.
    """

    name: str = "VIP"
    tag: str = "VIP"
    min_orders: int = 3
    min_spent: Decimal = Decimal(0)


class ShopSettings(BaseModel):
    """Per-shop settings, the value of the compacted `shop.settings` topic (key `{shop}`)."""

    model_config = ConfigDict(extra="forbid")

    shop: str
    # Notification rules
    enabled_kinds: list[NotificationKind] = ["purchase", "trending", "viewing"]
    min_order_value: Decimal = Decimal(0)
    excluded_products: list[str] = []
    buyer_display: Literal["first_name_city", "city", "anonymous"] = "first_name_city"
    max_purchase_age_s: int = 24 * 3600
    language: str = "en"
    # Per-language overrides of the built-in templates: {lang: {kind: template}}.
    templates: dict[str, dict[str, str]] = {}
    trending_thresholds: list[int] = [5, 10, 25, 50, 100]
    # "N people are viewing this now" only from this many distinct viewers in 5 minutes.
    viewing_min_viewers: int = 2
    # Customer intelligence
    rfm: RfmThresholds = RfmThresholds()
    tiers: list[TierRule] = [TierRule()]
    vip_dropoff_days: int = 365
    writeback_dry_run: bool = False
    updated_at: datetime | None = None
