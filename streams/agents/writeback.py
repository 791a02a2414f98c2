"""VIP tier changes → the tier's tag on the Shopify customer (tagsAdd / tagsRemove).

Its own agent on `customer.changes`, so Shopify's latency and cost limit never hold up order
processing. Each batch is grouped by shop: shops proceed concurrently, one shop's changes in
order. Repeating a write is harmless (tagsAdd/tagsRemove are idempotent), which at-least-once
delivery needs. A change that cannot be written (no token, user errors, retries exhausted, or a
record that is no change at all) goes to `customer.changes.dlq` with the reason. Nothing here
consumes customer webhooks, and tiers are derived from orders alone, so our own
`customers/update` / tag events can never loop back.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, cast

import faust
import httpx
import orjson
import redis.asyncio as redis
import structlog

from shopify.admin import AdminApi, AdminApiError
from shopify.http_client import shopify_http
from storepulse import redis_keys
from storepulse.kafka_topics import TOPIC_CUSTOMER_CHANGES
from streams.domain.standing import SettingsFor
from streams.runtime.batches import EventBatch, batches
from streams.runtime.context import Context
from streams.runtime.correlation import bind_webhook_id
from streams.runtime.dead_letters import DeadLetters, reason_of
from streams.runtime.metrics import WRITEBACKS
from streams.runtime.redis_retry import REDIS_DOWN, redis_step

log = structlog.get_logger(__name__)

BATCH = 200
BATCH_WITHIN_S = 0.05

Change = dict[str, Any]


def tag_mutation(add: bool, remove: bool) -> str:
    """One request for both halves of a tier move (VIP → Gold removes one tag, adds another)."""
    fields = []
    if remove:
        fields.append("tagsRemove(id: $id, tags: $remove) { userErrors { field message } }")
    if add:
        fields.append("tagsAdd(id: $id, tags: $add) { userErrors { field message } }")
    return "mutation TierTags($id: ID!, $add: [String!]!, $remove: [String!]!) { " + " ".join(fields) + " }"


class TagWriter:
    """Writes one tier change to Shopify, or says why it did not."""

    def __init__(self, api: AdminApi, settings_for: SettingsFor, *, dry_run: bool) -> None:
        self._api = api
        self._settings_for = settings_for
        self._dry_run = dry_run

    async def write(self, change: Change) -> str:
        """ "written" or "dry_run"; raises AdminApiError/Retryable when it could not be written."""
        shop, add, remove = change["shop"], change.get("tags_add") or [], change.get("tags_remove") or []
        if not (add or remove):
            return "written"
        if self._dry_run or self._settings_for(shop).writeback_dry_run:
            return "dry_run"
        variables = {"id": f"gid://shopify/Customer/{change['customer_id']}", "add": add, "remove": remove}
        data = await self._api.query(
            shop, tag_mutation(bool(add), bool(remove)), variables, cost=10.0 * (bool(add) + bool(remove))
        )
        errors = [e for part in data.values() if isinstance(part, dict) for e in part.get("userErrors") or ()]
        if errors:
            raise AdminApiError("userErrors: " + "; ".join(str(e.get("message")) for e in errors))
        return "written"


def changes_by_shop(batch: EventBatch) -> dict[str, list[tuple[bytes, Change]]]:
    """The batch's tier changes, each shop's in order."""
    by_shop: dict[str, list[tuple[bytes, Change]]] = defaultdict(list)
    for event in batch:
        change = orjson.loads(event.value)
        if not (isinstance(change, dict) and isinstance(change.get("shop"), str) and "customer_id" in change):
            raise ValueError("not a customer change (a JSON object with `shop` and `customer_id`)")
        if change.get("kind") == "tier":
            by_shop[change["shop"]].append((cast(bytes, event.key), change))
    return by_shop


async def remember_tags(client: redis.Redis, change: Change) -> None:
    """The tier tags StorePulse now holds on the customer, after a change it wrote (the app shows them)."""
    key, customer_id = redis_keys.customer_tags(change["shop"]), change["customer_id"]
    held = orjson.loads(await client.hget(key, customer_id) or b"[]")
    tags = sorted((set(held) - set(change.get("tags_remove") or ())) | set(change.get("tags_add") or ()))
    if tags:
        await client.hset(key, customer_id, orjson.dumps(tags))
    else:
        await client.hdel(key, customer_id)


def register(ctx: Context, settings_for: SettingsFor) -> TagWriter:
    app, settings = ctx.app, ctx.settings

    async def access_token(shop: str) -> str | None:
        return await redis_step(ctx.registry.access_token, shop)

    http = shopify_http(settings.shopify_admin_base_url, timeout=httpx.Timeout(10.0, connect=3.0))
    api = AdminApi(
        http,
        access_token,
        api_version=settings.shopify_api_version,
        attempts=settings.writeback_attempts,
    )
    writer = TagWriter(api, settings_for, dry_run=settings.writeback_dry_run)
    dead_letters = DeadLetters(app)

    async def write_shop(changes: list[tuple[bytes, Change]]) -> None:
        for key, change in changes:
            # Each shop's changes are written in a task of its own: its log lines name the
            # webhook that moved the tier.
            bind_webhook_id(change.get("webhook_id"))
            try:
                outcome = await writer.write(change)
                WRITEBACKS.labels(outcome).inc()
                log.info(
                    "writeback_done",
                    shop=change["shop"],
                    customer=change["customer_id"],
                    add=change.get("tags_add"),
                    remove=change.get("tags_remove"),
                    outcome=outcome,
                )
                if outcome == "written":
                    await redis_step(remember_tags, ctx.redis, change)
            except REDIS_DOWN:
                raise  # redis_step waits those out; one that gets here is no fault of the change
            except Exception as exc:  # whatever went wrong with this change, the next one is written
                WRITEBACKS.labels("failed").inc()
                log.warning("writeback_failed", shop=change["shop"], reason=str(exc))
                failed = {**change, "reason": reason_of(exc), "failed_at": datetime.now(UTC).isoformat()}
                await dead_letters.send(TOPIC_CUSTOMER_CHANGES, key, failed)

    @app.agent(app.topic(TOPIC_CUSTOMER_CHANGES, key_type=bytes, value_type=bytes), name="writeback")
    async def writeback(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream, BATCH, BATCH_WITHIN_S):
            by_shop = batch.apply(changes_by_shop)
            await asyncio.gather(*(write_shop(changes) for changes in by_shop.values()))

    return writer
