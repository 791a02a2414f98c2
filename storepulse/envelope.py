"""The webhook envelope: one Shopify delivery as ingest (or the backfill) produced it to Kafka.

The worker also re-keys envelopes to its internal topics, adding `customer_id`, and writes
records of its own kinds in the same shape (`topic` names the kind, `payload` holds its data).
A TypedDict, not a model: the worker decodes every record on its hot path, and orjson's dict is
all it needs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict

import orjson

# Kinds StorePulse itself writes into `topic`, next to Shopify's own webhook topics.
ORDERS_BACKFILL = "orders/backfill"  # an order read by `storepulse backfill`: a whole order
# payload {"owners": {order_id: customer_id}}, orders of one shop on one partition; a customer_id
# None marks a guest order. One record per batch and partition, not one per order.
ORDER_OWNERS = "streams/order-owners"
FORGET_ORDER = "streams/forget-order"  # a redacted customer's order leaves the index
REEVALUATE = "streams/reevaluate"  # time moved a customer's standing (VIP dropoff, recency)
# The merchant app sets (payload {tier, until, source, set_at}) or removes ({tier: null}) a
# customer's tier floor, on their partition of streams.customer-events (streams/domain/tier_floor.py).
TIER_FLOOR = "storepulse/tier-floor"
# An event the events API accepted (payload: storepulse.contracts.ApiEvent), on `api.events`.
API_EVENT = "storepulse/api-event"


# An order read by the scheduled sync is an `orders/backfill` record whose webhook id is
# `sync-{run}-{uuid}`: the customers step counts, per run, the orders it actually changed.
SYNC_PREFIX = "sync-"


def sync_source(run_id: str) -> str:
    """The webhook id prefix (`produce_order`'s `source`) of the records of sync run `run_id`."""
    return f"{SYNC_PREFIX}{run_id}"


def sync_run_of(webhook_id: str | None) -> str | None:
    """The sync run that produced a record with this webhook id; None for any other record."""
    if not webhook_id or not webhook_id.startswith(SYNC_PREFIX):
        return None
    return webhook_id.removeprefix(SYNC_PREFIX).split("-", 1)[0]


class Envelope(TypedDict):
    topic: str
    shop: str
    payload: dict[str, Any]
    webhook_id: NotRequired[str]  # X-Shopify-Webhook-Id: one delivery (retries keep it)
    event_id: NotRequired[str | None]  # X-Shopify-Event-Id: one merchant action across topics
    api_version: NotRequired[str | None]
    triggered_at: NotRequired[str | None]
    received_at: NotRequired[str]
    customer_id: NotRequired[str]  # set when the worker re-keys the envelope to its customer


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
    """An envelope as the JSON bytes ingest and backfill produce, received now."""
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


class NotAnEnvelope(ValueError):
    """A record that is not an envelope the worker can process."""


def decode_envelope(value: bytes | None) -> Envelope:
    """The envelope a record holds; NotAnEnvelope, saying why, for a record that is not one."""
    if value is None:
        raise NotAnEnvelope("a tombstone, not an envelope")
    try:
        envelope = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise NotAnEnvelope(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise NotAnEnvelope("not a JSON object")
    for name, kind in (("topic", str), ("shop", str), ("payload", dict)):
        if not isinstance(envelope.get(name), kind):
            raise NotAnEnvelope(f"`{name}` is not a {kind.__name__}")
    # The worker re-encodes the envelopes it forwards, and orjson decodes deeper nesting (1,024
    # levels) than it encodes (254): such a record would fail later, when it is sent on.
    try:
        orjson.dumps(envelope)
    except orjson.JSONEncodeError as exc:
        raise NotAnEnvelope(f"cannot be sent on: {exc}") from None
    return envelope  # type: ignore[return-value]  # checked above: the required keys hold their types
