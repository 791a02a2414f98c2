"""Subscribes an installed shop to webhook topics, and heals them (the scheduled sync), through the
cost-paced Admin API client."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from shopify.admin import AdminApi, AdminApiError

log = structlog.get_logger(__name__)

CREATE = """
mutation subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""


class SubscriptionFailed(AdminApiError):
    """Shopify refused a subscription; the message names the topic and says why."""


def topic_enum(topic: str) -> str:
    """`orders/create` → `ORDERS_CREATE`, the GraphQL WebhookSubscriptionTopic."""
    return topic.replace("/", "_").upper()


async def subscribe_webhooks(api: AdminApi, shop: str, callback_url: str, topics: Iterable[str]) -> list[str]:
    """Create one subscription per topic; returns the topics subscribed (existing ones count)."""
    done = []
    for topic in topics:
        variables = {"topic": topic_enum(topic), "sub": {"uri": callback_url, "format": "JSON"}}
        result = (await api.query(shop, CREATE, variables, cost=10.0)).get("webhookSubscriptionCreate")
        if result is None:
            raise SubscriptionFailed(f"{topic}: no webhookSubscriptionCreate in the answer")
        errors = [e["message"] for e in result["userErrors"] if "already been taken" not in e["message"]]
        if errors:
            raise SubscriptionFailed(f"{topic}: {errors}")
        done.append(topic)
    log.info("webhooks_subscribed", shop=shop, count=len(done))
    return done


LIST = """
query Subscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    edges { cursor node { id topic uri } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DELETE = """
mutation unsubscribe($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


async def list_subscriptions(api: AdminApi, shop: str) -> list[dict[str, str]]:
    """The shop's webhook subscriptions of this app: [{id, topic (enum), uri}]."""
    held: list[dict[str, str]] = []
    after = None
    while True:
        data = (await api.query(shop, LIST, {"first": 100, "after": after}, cost=5.0))["webhookSubscriptions"]
        held.extend(edge["node"] for edge in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            return held
        after = data["pageInfo"]["endCursor"]


async def heal_subscriptions(api: AdminApi, shop: str, callback_url: str, topics: Iterable[str]) -> list[str]:
    """Re-create each subscription of `topics` the shop lacks or holds at another address; the
    topics repaired. A subscription of one of them pointing elsewhere (an old host) is deleted, so
    no webhook goes to two places."""
    held = await list_subscriptions(api, shop)
    repaired = []
    for topic in topics:
        mine = [s for s in held if s["topic"] == topic_enum(topic)]
        if any(s["uri"] == callback_url for s in mine):
            continue
        for stale in mine:
            result = (await api.query(shop, DELETE, {"id": stale["id"]}, cost=10.0))[
                "webhookSubscriptionDelete"
            ]
            if result is None or result["userErrors"]:
                raise SubscriptionFailed(f"{topic}: could not delete the subscription at another address")
        await subscribe_webhooks(api, shop, callback_url, [topic])
        repaired.append(topic)
    if repaired:
        log.warning("webhooks_repaired", shop=shop, topics=repaired)
    return repaired
