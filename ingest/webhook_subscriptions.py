"""Subscribes an installed shop to our webhook topics through Admin GraphQL."""

from __future__ import annotations

import asyncio

import httpx
import structlog

from ingest.routing import SUBSCRIBED_TOPICS

log = structlog.get_logger(__name__)

CREATE = """
mutation subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""


class SubscriptionFailed(Exception):
    pass


def topic_enum(topic: str) -> str:
    """`orders/create` → `ORDERS_CREATE`, the GraphQL WebhookSubscriptionTopic."""
    return topic.replace("/", "_").upper()


async def subscribe_webhooks(
    client: httpx.AsyncClient, graphql_url: str, token: str, callback_url: str, attempts: int = 5
) -> list[str]:
    """Create one subscription per topic; returns the topics subscribed (existing ones count)."""
    headers = {"X-Shopify-Access-Token": token}
    done = []
    for topic in SUBSCRIBED_TOPICS:
        variables = {"topic": topic_enum(topic), "sub": {"uri": callback_url, "format": "JSON"}}
        for attempt in range(attempts):
            query = {"query": CREATE, "variables": variables}
            answer = await client.post(graphql_url, json=query, headers=headers)
            body = answer.json() if answer.status_code == 200 else {}
            errors = body.get("errors")
            throttled = isinstance(errors, list) and any(
                e.get("extensions", {}).get("code") == "THROTTLED" for e in errors
            )
            if throttled or answer.status_code >= 500:
                await asyncio.sleep(0.5 * (attempt + 1))  # the cost bucket refills within seconds
                continue
            result = (body.get("data") or {}).get("webhookSubscriptionCreate")
            if result is None:
                raise SubscriptionFailed(f"{topic}: HTTP {answer.status_code}")
            errors = [e["message"] for e in result["userErrors"] if "already been taken" not in e["message"]]
            if errors:
                raise SubscriptionFailed(f"{topic}: {errors}")
            done.append(topic)
            break
        else:
            raise SubscriptionFailed(f"{topic}: gave up after {attempts} attempts")
    log.info("webhooks_subscribed", count=len(done))
    return done
