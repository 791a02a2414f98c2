"""Subscribes an installed shop to webhook topics, through the cost-paced Admin API client."""

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
