"""The audit log in the app: recording what staff did, and reading the shop's log back.

`AuditLog.record` produces an entry to the audit topic once the action took effect (or, while
the topic is unreachable, holds it in admin/audit_outbox.py until it is back); the worker's
`audit-log` agent keeps it in `audit:{shop}` (streams/agents/audit_log.py), which
`GET /app/api/audit` pages through newest first and `GET /app/api/audit.csv` exports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import orjson
import redis.asyncio as redis
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from admin.api import authenticated
from admin.audit_outbox import AuditOutbox
from admin.page_view import Pages, View
from admin.params import parse
from admin.roles import member_of
from admin.session import Session
from ingest.producer import BrokerUnavailable, DurableProducer
from storepulse import redis_keys
from storepulse.audit import AuditAction, AuditEntry, Change, diff, new_entry, settings_action
from storepulse.kafka_topics import TOPIC_AUDIT, shop_key

if TYPE_CHECKING:
    from admin.context import AdminContext

# Fields the worker sets itself: a save does not change them.
UNAUDITED = frozenset({"updated_at", "shop"})
CSV_COLUMNS = ("at", "action", "user_id", "user_name", "changes", "details", "id")
# Entries an export or a filtered page reads from Redis at a time.
SCAN = 500
SEPARATOR = b"\t"


class AuditQuery(BaseModel):
    """`GET /app/api/audit`'s parameters: a page of at most `limit` entries older than `cursor`."""

    model_config = ConfigDict(extra="ignore")

    cursor: str | None = Field(None, pattern=r"^[0-9]{13}-[0-9a-f]{8}$")
    limit: int = Field(50, ge=1, le=500)
    action: AuditAction | None = None


class AuditLog:
    def __init__(self, client: redis.Redis, producer: DurableProducer, outbox: AuditOutbox) -> None:
        self._client = client
        self._producer = producer
        self.outbox = outbox

    async def record(
        self,
        request: Request,
        shop: str,
        action: AuditAction,
        *,
        changes: list[Change] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Record `action` as done by the request's staff member (admin/roles.py admitted them)."""
        member = member_of(request)
        entry = new_entry(
            shop,
            action,
            user_id=member.user_id,
            user_name=member.name,
            changes=changes,
            details=details,
        )
        key, value = shop_key(shop), entry.model_dump_json().encode()
        try:
            await self._producer.send(TOPIC_AUDIT, key, value)
        except BrokerUnavailable:
            await self.outbox.hold(key, value)  # the action is done: its entry follows later
        return entry

    async def settings_saved(
        self,
        request: Request,
        shop: str,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        action: AuditAction | None = None,
    ) -> AuditEntry | None:
        """Record a settings save with its field-level changes; nothing when it changed nothing.
        `action`: what the save did, where the settings page that made it says more than the fields."""
        changes = diff(
            {k: v for k, v in before.items() if k not in UNAUDITED},
            {k: v for k, v in after.items() if k not in UNAUDITED},
        )
        if not changes:
            return None
        return await self.record(request, shop, action or settings_action(changes), changes=changes)

    async def page(self, shop: str, query: AuditQuery) -> dict[str, Any]:
        """`{"entries": [...], "next": cursor or None}`, newest first."""
        entries: list[dict[str, Any]] = []
        cursor = query.cursor
        async for entry in self._newest_first(shop, cursor):
            if query.action is None or entry["action"] == query.action:
                entries.append(entry)
            cursor = entry["id"]
            if len(entries) == query.limit:
                break
        else:
            cursor = None
        return {"entries": entries, "next": cursor}

    async def export(self, shop: str, action: str | None) -> AsyncIterator[str]:
        """The shop's log as CSV, newest first (changes and details as JSON)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        async for entry in self._newest_first(shop, None):
            if action is None or entry["action"] == action:
                row = {**entry, "changes": orjson.dumps(entry["changes"]).decode()}
                row["details"] = orjson.dumps(entry["details"]).decode()
                writer.writerow([row.get(c) for c in CSV_COLUMNS])
            if out.tell() > 64 * 1024:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    async def _newest_first(self, shop: str, cursor: str | None) -> AsyncIterator[dict[str, Any]]:
        """Entries older than `cursor` (from the newest without one), a chunk of `SCAN` at a time."""
        key = redis_keys.audit_log(shop)
        # A member is `{id}\t{json}`: "(id" excludes the cursor's own member and everything after it.
        high = b"(" + cursor.encode() if cursor else b"+"
        while True:
            members = cast(
                list[bytes],
                await self._client.zrange(key, high, b"-", desc=True, bylex=True, offset=0, num=SCAN),
            )
            for raw in members:
                yield orjson.loads(raw.partition(SEPARATOR)[2])
            if len(members) < SCAN:
                return
            high = b"(" + members[-1].partition(SEPARATOR)[0]


def audit_routes(ctx: AdminContext) -> list[Route]:
    async def get_audit(request: Request, session: Session) -> Response:
        page = await ctx.audit.page(session.shop, parse(AuditQuery, request.query_params))
        return Response(orjson.dumps(page), media_type="application/json")

    async def export(request: Request, session: Session) -> Response:
        query = parse(AuditQuery, request.query_params)
        name = f"audit-{session.shop.removesuffix('.myshopify.com')}.csv"
        return StreamingResponse(
            ctx.audit.export(session.shop, query.action),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return [
        Route("/api/audit", authenticated(ctx, get_audit), methods=["GET"]),
        # A download is a navigation, which cannot add a header: ?id_token= too.
        Route("/api/audit.csv", authenticated(ctx, export, query_token=True), methods=["GET"]),
    ]


# What each action is called on the Audit log page.
ACTION_LABELS: dict[str, str] = {
    "settings.saved": "Settings saved",
    "vip_program.changed": "VIP program changed",
    "backfill.started": "Backfill started",
    "sync.started": "Sync started",
    "experiment.started": "Experiment started",
    "experiment.stopped": "Experiment stopped",
    "import.started": "Import run",
    "import.cancelled": "Import cancelled",
    "tier_override.set": "Tier set by hand",
    "tier_override.removed": "Tier override removed",
    "role.changed": "Role changed",
    "default_role.changed": "Default role changed",
    "customer.redacted": "Customer data erased (Shopify)",
    "data_request.answered": "Data request answered",
}


def audit_page_routes(ctx: AdminContext) -> list[Route]:
    page = Pages(ctx)

    async def audit_page(view: View) -> Response:
        action = view.request.query_params.get("action") or None
        cursor = view.request.query_params.get("cursor") or None
        params = {k: v for k, v in (("action", action), ("cursor", cursor)) if v}
        listing = await view.api.get("/api/audit", params, ok=(422,))
        errors = listing.get("errors", {})
        return view.render(
            "audit.html",
            title="Audit log",
            entries=listing.get("entries", []),
            errors=errors,
            action=action,
            actions=ACTION_LABELS,
            next_url=view.url("audit", action=action, cursor=listing.get("next"))
            if listing.get("next")
            else None,
            first_url=view.url("audit", action=action) if cursor else None,
            export_url=view.api_url("audit.csv", action=action),
        )

    return [Route("/audit", page("audit", audit_page), methods=["GET"], name="audit")]
