"""Fake webhook subscriptions: `webhookSubscriptionCreate`, `webhookSubscriptions` (the list) and
`webhookSubscriptionDelete`, each shop's held as Shopify would; `lose` removes one as Shopify does
after a subscription's deliveries failed for too long."""

from __future__ import annotations

import re
import uuid
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
        "id": f"gid://shopify/WebhookSubscription/{uuid.uuid4().int % 10**12}",
        "topic": topic,
        "uri": sub.get("uri", ""),
        "format": sub.get("format", "JSON"),
    }
    held.append(created)
    return {"webhookSubscription": {"id": created["id"], "topic": topic}, "userErrors": []}


def lose(fake: FakeShopify, shop: str, topic: str) -> None:
    """Shopify deleted the shop's subscriptions of `topic` (enum form, e.g. ORDERS_CREATE)."""
    held = subscriptions(fake, shop)
    held[:] = [s for s in held if s["topic"] != topic]


def _list(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    held = subscriptions(fake, shop)
    start = int(args["after"]) if args.get("after") else 0
    page = held[start : start + int(args.get("first", 50))]
    edges = [{"cursor": str(start + i + 1), "node": dict(s)} for i, s in enumerate(page)]
    more = start + len(page) < len(held)
    return {
        "edges": edges,
        "pageInfo": {"hasNextPage": more, "endCursor": edges[-1]["cursor"] if edges else None},
    }


def _delete(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    held = subscriptions(fake, shop)
    if not any(s["id"] == args.get("id") for s in held):
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "not found"}],
        }
    held[:] = [s for s in held if s["id"] != args["id"]]
    return {"deletedWebhookSubscriptionId": args["id"], "userErrors": []}


def register(fake: FakeShopify) -> FakeShopify:
    fake.resolvers.update(
        webhookSubscriptionCreate=_create, webhookSubscriptions=_list, webhookSubscriptionDelete=_delete
    )
    return fake
