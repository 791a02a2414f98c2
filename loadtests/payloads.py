"""Realistic Shopify webhook payloads and their signed HTTP headers."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from shopify.signature import sign
from storepulse.settings import Settings

FIRST_NAMES = ["Maya", "Liam", "Sofia", "Noah", "Aisha", "Jonas", "Chloé", "Mateo", "Yuki", "Omar"]
CITIES = [
    ("Austin", "US", "TX"),
    ("Berlin", "DE", ""),
    ("Lyon", "FR", ""),
    ("Toronto", "CA", "ON"),
    ("Madrid", "ES", ""),
    ("Tromsø", "NO", "54"),
    ("Melbourne", "AU", "VIC"),
]
# (product id, title, handle, price); push serves each one's image as {handle}.svg under
# /demo-assets (widget/demo-assets/).
CATALOG = [
    (7001, "Cloud Hoodie", "cloud-hoodie", "59.00"),
    (7002, "Trail Runner", "trail-runner", "120.00"),
    (7003, "Canvas Tote", "canvas-tote", "24.00"),
    (7004, "Merino Beanie", "merino-beanie", "32.50"),
]

_ids = itertools.count(int(datetime.now(UTC).timestamp() * 1000) * 1000)

# The Admin API version the simulated webhooks claim (the default of SHOPIFY_API_VERSION).
API_VERSION = Settings.model_fields["shopify_api_version"].default


def next_id() -> int:
    """A fresh positive integer id, like Shopify's REST ids."""
    return next(_ids)


@dataclass(frozen=True)
class Webhook:
    topic: str
    shop: str
    body: bytes
    webhook_id: str
    event_id: str

    def headers(self, secret: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign(self.body, secret),
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
            "X-Shopify-API-Version": API_VERSION,
        }


def webhook(topic: str, shop: str, payload: dict[str, Any]) -> Webhook:
    return Webhook(topic, shop, orjson.dumps(payload), str(uuid.uuid4()), str(uuid.uuid4()))


def order(
    *,
    customer_id: int | None = None,
    rng: random.Random | None = None,
    product: tuple[int, str, str, str] | None = None,
    protected_data: bool = True,
    first_name: str | None = None,
    city: tuple[str, str, str] | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """An orders/create payload (placed now unless `created_at`); without protected-data access
    names and cities are blank."""
    rng = rng or random.Random()
    product_id, title, _handle, price = product or rng.choice(CATALOG)
    town, country, province = city or rng.choice(CITIES)
    first = first_name or rng.choice(FIRST_NAMES)
    now = (created_at or datetime.now(UTC)).isoformat()
    customer_id = customer_id or next_id()
    address = {
        "first_name": first if protected_data else "",
        "last_name": "Secret-Lastname" if protected_data else "",
        "address1": "1 Private Street" if protected_data else "",
        "phone": "+1-555-0100" if protected_data else "",
        "city": town if protected_data else "",
        "province_code": province,
        "country_code": country,
    }
    return {
        "id": next_id(),
        "admin_graphql_api_id": "gid://shopify/Order/1",
        "name": f"#{rng.randint(1000, 99999)}",
        "email": "buyer@example.com",
        "phone": "+1-555-0100",
        "created_at": now,
        "updated_at": now,
        "currency": "USD",
        "total_price": price,
        "subtotal_price": price,
        "financial_status": "paid",
        "customer": {
            "id": customer_id,
            "email": "buyer@example.com",
            "first_name": first if protected_data else None,
            "last_name": "Secret-Lastname" if protected_data else None,
            "phone": "+1-555-0100",
        },
        "shipping_address": address,
        "billing_address": address,
        "line_items": [
            {
                "id": next_id(),
                "product_id": product_id,
                "variant_id": next_id(),
                "title": title,
                "quantity": 1,
                "price": price,
                "sku": f"SKU-{product_id}",
            }
        ],
    }


def refund(order: dict[str, Any], amount: str) -> dict[str, Any]:
    """A refunds/create payload returning `amount` of `order` (it names the order, not the customer)."""
    tx = {"kind": "refund", "status": "success", "amount": amount}
    return {"id": next_id(), "order_id": order["id"], "transactions": [tx]}


def inventory_item_of(product_id: int) -> int:
    """The inventory item of the one variant `product` gives a product."""
    return product_id * 10 + 1


def product(
    entry: tuple[int, str, str, str], images_url: str | None = None, *, stock: int | None = None
) -> dict[str, Any]:
    """A products/create payload with one variant; with its image when `images_url` says where
    push serves them (e.g. http://127.0.0.1:8001/demo-assets), else without one. The variant's
    stock is tracked by Shopify when `stock` is given, else not tracked."""
    product_id, title, handle, price = entry
    now = datetime.now(UTC).isoformat()
    images = [{"src": f"{images_url}/{handle}.svg"}] if images_url else []
    return {
        "id": product_id,
        "title": title,
        "handle": handle,
        "created_at": now,
        "updated_at": now,
        "status": "active",
        "image": images[0] if images else None,
        "images": images,
        "variants": [
            {
                "id": product_id * 10,
                "product_id": product_id,
                "price": price,
                "inventory_item_id": inventory_item_of(product_id),
                "inventory_management": None if stock is None else "shopify",
                "inventory_quantity": stock or 0,
            }
        ],
    }


def inventory_level(
    product_id: int, available: int, *, location_id: int = 1, updated_at: datetime | None = None
) -> dict[str, Any]:
    """An inventory_levels/update payload: the stock of `product`'s variant at a location."""
    return {
        "inventory_item_id": inventory_item_of(product_id),
        "location_id": location_id,
        "available": available,
        "updated_at": (updated_at or datetime.now(UTC)).isoformat(),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_of(product_id)}",
    }


def cart(products: list[tuple[int, str, str, str]], token: str | None = None) -> dict[str, Any]:
    """A carts/create or carts/update payload holding one of each product."""
    token = token or uuid.uuid4().hex
    now = datetime.now(UTC).isoformat()
    return {
        "id": token,
        "token": token,
        "note": "Please gift wrap - Secret-Lastname",
        "updated_at": now,
        "created_at": now,
        "line_items": [
            {
                "id": pid * 10,
                "product_id": pid,
                "variant_id": pid * 10,
                "title": title,
                "quantity": 1,
                "price": price,
            }
            for pid, title, _handle, price in products
        ],
    }


CustomerOrigin = Literal["account", "guest_checkout", "newsletter"]


def customer(
    *, customer_id: int | None = None, rng: random.Random | None = None, origin: CustomerOrigin = "account"
) -> dict[str, Any]:
    """A customers/create or customers/update payload (no `tags` since 2025-01) of a customer
    who made an account, checked out as a guest (an address, no account) or signed up to the
    newsletter (an email and marketing consent only)."""
    rng = rng or random.Random()
    now = datetime.now(UTC).isoformat()
    city, country, province = rng.choice(CITIES)
    consent = "subscribed" if origin == "newsletter" else "not_subscribed"
    address = {"city": city, "country_code": country, "province_code": province}
    return {
        "id": customer_id or next_id(),
        "admin_graphql_api_id": "gid://shopify/Customer/1",
        "email": "buyer@example.com",
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": "Secret-Lastname",
        "phone": "+1-555-0100",
        "created_at": now,
        "updated_at": now,
        "state": "enabled" if origin == "account" else "disabled",
        "verified_email": True,
        "currency": "USD",
        "email_marketing_consent": {
            "state": consent,
            "opt_in_level": "single_opt_in",
            "consent_updated_at": now,
        },
        "default_address": None if origin == "newsletter" else address,
        "addresses": [] if origin == "newsletter" else [address],
    }


# Personal data the shop-level payloads below carry, as Shopify's examples do: nothing reads it.
CONTACT = {"email": "buyer@example.com", "phone": "+1-555-0100"}


def shop_resource(shop: str) -> dict[str, Any]:
    """An app/uninstalled payload: the shop, with its owner's contact details."""
    return {
        "id": next_id(),
        "name": "Demo Store",
        "domain": shop,
        "myshopify_domain": shop,
        "shop_owner": "Secret-Lastname",
        "address1": "1 Private Street",
        **CONTACT,
    }


def customers_redact(shop: str, customer_id: int, order_ids: list[int]) -> dict[str, Any]:
    return {
        "shop_id": next_id(),
        "shop_domain": shop,
        "customer": {"id": customer_id, **CONTACT},
        "orders_to_redact": order_ids,
    }


def customers_data_request(shop: str, customer_id: int, request_id: int) -> dict[str, Any]:
    return {
        "shop_id": next_id(),
        "shop_domain": shop,
        "orders_requested": [],
        "customer": {"id": customer_id, **CONTACT},
        "data_request": {"id": request_id},
    }


def shop_redact(shop: str) -> dict[str, Any]:
    return {"shop_id": next_id(), "shop_domain": shop}


# How often a visitor's widget sends each beacon type.
# Ghost impressions come only from visitors an experiment holds out: rare, as a 5 % holdout makes them.
BEACON_MIX = {"page_view": 6, "impression": 3, "click": 1, "dismiss": 1, "ghost_impression": 0.2}


def beacon(shop: str, kind: str, visitor: str, product_id: str | None = None) -> dict[str, Any]:
    """A widget beacon as the browser posts it; ingest adds `received_at` to make it a `Beacon`."""
    return {"shop": shop, "type": kind, "visitor": visitor, "product_id": product_id}
