"""Fake `webhookSubscriptionCreate`: records each shop's subscriptions as Shopify would."""

from __future__ import annotations

import re
from typing import Any

from tests.fake_shopify.server import FakeShopify

_TOPIC = re.compile(r"^[A-Z]+(_[A-Z]+)+$")


def subscriptions(fake: FakeShopify, shop: str) -> list[dict[str, str]]:
    """The subscriptions `shop` holds: [{id, topic, uri, format}]."""
    return fake.shop_state(shop).setdefault("webhooks", [])


def _refused(field: str, message: str) -> dict[str, Any]:
    return {"webhookSubscription": None, "userErrors": [{"field": [field], "message": message}]}


def _create(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    topic, sub = args.get("topic", ""), args.get("webhookSubscription") or {}
    held = subscriptions(fake, shop)
    if not _TOPIC.match(topic):
        return _refused("topic", "Invalid topic")
    if any(s["topic"] == topic and s["uri"] == sub.get("uri") for s in held):
        return _refused("uri", "Address for this topic has already been taken")
    created = {
        "id": f"gid://shopify/WebhookSubscription/{len(held) + 1}",
        "topic": topic,
        "uri": sub.get("uri", ""),
        "format": sub.get("format", "JSON"),
    }
    held.append(created)
    return {"webhookSubscription": {"id": created["id"], "topic": topic}, "userErrors": []}


def register(fake: FakeShopify) -> FakeShopify:
    fake.resolvers["webhookSubscriptionCreate"] = _create
    return fake
