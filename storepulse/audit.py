"""The audit log's record: who did what to a shop, and when.

The app (and the worker, for Shopify's compliance requests) produces one `AuditEntry` per
administrative action to the audit topic (`kafka_topics.TOPIC_AUDIT`, keyed by shop); the
worker's `audit-log` agent keeps each shop's entries in Redis for the app to read
(streams/agents/audit_log.py). An entry's id sorts by time, so the read model needs no other order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

AuditAction = Literal[
    "settings.saved",
    "vip_program.changed",
    "backfill.started",
    "sync.started",
    "experiment.started",
    "experiment.stopped",
    "import.started",
    "import.cancelled",
    "tier_override.set",
    "tier_override.removed",
    "role.changed",
    "default_role.changed",
    "customer.redacted",
    "data_request.answered",
    "event_key.created",
    "event_key.rotated",
    "event_key.revoked",
]
AUDIT_ACTIONS: tuple[str, ...] = get_args(AuditAction)
# Settings fields the VIP program page owns: a save that changes only these is a program change.
VIP_FIELDS = frozenset({"tiers", "vip_dropoff_days", "rfm", "writeback_dry_run"})


class Change(BaseModel):
    """One field's value before and after (`field` a dotted path: "tiers.0.min_orders")."""

    field: str
    before: Any = None
    after: Any = None


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    shop: str
    at: datetime
    action: AuditAction
    # The staff member: the session token's `sub`, and their name where the shop granted it.
    # No user: Shopify itself (a compliance webhook) or the worker's admin API token.
    user_id: str | None = None
    user_name: str | None = None
    changes: list[Change] = []
    details: dict[str, Any] = {}


def entry_id(at: datetime, cause: str | None = None) -> str:
    """Sorts as the time does (13-digit epoch milliseconds), unique by its tail: random, or a
    digest of `cause` (a webhook's id), so the same cause recorded twice is one entry."""
    tail = hashlib.blake2b(cause.encode(), digest_size=4).hexdigest() if cause else secrets.token_hex(4)
    return f"{int(at.timestamp() * 1000):013d}-{tail}"


def new_entry(
    shop: str,
    action: AuditAction,
    *,
    user_id: str | None = None,
    user_name: str | None = None,
    changes: list[Change] | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    cause: str | None = None,
) -> AuditEntry:
    at = at or datetime.now(UTC)
    return AuditEntry(
        id=entry_id(at, cause),
        shop=shop,
        at=at,
        action=action,
        user_id=user_id,
        user_name=user_name,
        changes=changes or [],
        details=dict(details or {}),
    )


def diff(before: Any, after: Any, path: str = "") -> list[Change]:
    """Field-level changes between two JSON values: objects field by field, lists item by item
    when equally long (a tier's bound), else whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for name in sorted({*before, *after}, key=str):
            changes += diff(before.get(name), after.get(name), f"{path}.{name}" if path else str(name))
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after) and before:
        return [
            c for i, (b, a) in enumerate(zip(before, after, strict=True)) for c in diff(b, a, f"{path}.{i}")
        ]
    return [] if before == after else [Change(field=path, before=before, after=after)]


def settings_action(changes: list[Change]) -> AuditAction:
    """ "vip_program.changed" when every change is the VIP program's, else "settings.saved"."""
    if changes and all(c.field.split(".")[0] in VIP_FIELDS for c in changes):
        return "vip_program.changed"
    return "settings.saved"
