"""The app's API for imports of VIP status and for a customer's tier floor set by hand.

    POST   /app/api/imports                      a CSV or JSON Lines file (multipart `file`, or the body)
    GET    /app/api/imports                      the shop's imports, newest first
    GET    /app/api/imports/{id}                 one import's log, with its first rejected rows
    GET    /app/api/imports/{id}/rejected.csv    every rejected row
    POST   /app/api/imports/{id}/cancel          stop it after the chunk it is on
    PUT    /app/api/customers/{id}/tier-floor    {"tier": …, "until": "YYYY-MM-DD" or null}
    DELETE /app/api/customers/{id}/tier-floor    the customer's computed tier alone again

A file's mapping (`map.customer_id`, `map.email`, `map.tier`, `map.expires_on`: the file's
column for each), `source` and `dry_run` come as form fields or query parameters.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin.api import authenticated, by_method
from admin.import_files import FIELDS, MAX_BYTES, ImportFileError
from admin.import_runs import REJECTS_SHOWN, RUNNING
from admin.params import BadParameters, parse_body
from admin.roles import member_of
from admin.session import Session
from storepulse import redis_keys
from storepulse.audit import AuditAction, Change
from storepulse.contracts import ShopSettings

if TYPE_CHECKING:
    from admin.context import AdminContext

TRUE = ("1", "true", "on", "yes")


class FloorChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str = Field(min_length=1, max_length=100)
    until: date | None = None


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def upload(request: Request) -> tuple[bytes, str, dict[str, str]]:
    """(the file, its name, the other fields) of a multipart form or a bare body (fields from the
    query); raises `BadParameters` for a file over the size limit or a form without one."""
    if int(request.headers.get("content-length") or 0) > MAX_BYTES + 64 * 1024:
        raise BadParameters({"file": f"larger than {MAX_BYTES // (1024 * 1024)} MB: split it"})
    fields = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=20) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise BadParameters({"file": "choose a CSV or JSON Lines file"})
            data = await file.read(MAX_BYTES + 1)
            fields |= {k: v for k, v in form.items() if isinstance(v, str)}
            return data, file.filename or "upload", fields
    return await request.body(), fields.get("filename", "upload"), fields


def import_routes(ctx: AdminContext) -> list[Route]:
    async def tiers_of(shop: str) -> list[str]:
        return [rule.name for rule in ShopSettings.model_validate(await ctx.worker.settings(shop)).tiers]

    async def start(request: Request, session: Session) -> Response:
        data, filename, fields = await upload(request)
        member = member_of(request)
        dry_run = fields.get("dry_run", "").lower() in TRUE
        source = fields.get("source", "").strip()[:100] or "another app"
        mapping = {name: fields.get(f"map.{name}", "").strip() for name in FIELDS}
        try:
            record = await ctx.imports.start(
                session.shop,
                data,
                tiers=await tiers_of(session.shop),
                source=source,
                filename=filename[:200],
                mapping={k: v for k, v in mapping.items() if v},
                dry_run=dry_run,
                user={"user_id": member.user_id, "name": member.name},
            )
        except ImportFileError as exc:
            return _json({"error": str(exc)}, 422)
        details = {
            "import_id": record["id"],
            "source": source,
            "filename": record["filename"],
            "dry_run": dry_run,
        }
        await ctx.audit.record(request, session.shop, "import.started", details=details)
        return _json(record, 202)

    async def listing(request: Request, session: Session) -> Response:
        return _json({"imports": await ctx.imports.recent(session.shop)})

    async def one(request: Request, session: Session) -> Response:
        record = await ctx.imports.get(session.shop, request.path_params["import_id"], rejects=REJECTS_SHOWN)
        return _json(record) if record else _json({"error": "unknown import"}, 404)

    async def rejected_csv(request: Request, session: Session) -> Response:
        import_id = request.path_params["import_id"]
        if await ctx.imports.get(session.shop, import_id) is None:
            return _json({"error": "unknown import"}, 404)
        out = io.StringIO()
        writer = csv.DictWriter(out, ("row", "reason", "detail"))
        writer.writeheader()
        writer.writerows(await ctx.imports.rejected(session.shop, import_id))
        headers = {"Content-Disposition": f'attachment; filename="import-{import_id}-rejected.csv"'}
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    async def cancel(request: Request, session: Session) -> Response:
        import_id = request.path_params["import_id"]
        record = await ctx.imports.cancel(session.shop, import_id)
        if record is None:
            return _json({"error": "unknown import"}, 404)
        if record["status"] not in RUNNING:
            return _json({"error": f"the import is {record['status']}, not running", "import": record}, 409)
        await ctx.audit.record(request, session.shop, "import.cancelled", details={"import_id": import_id})
        return _json(await ctx.imports.get(session.shop, import_id))

    async def floor_of(shop: str, customer_id: str) -> dict[str, Any] | None:
        held = await ctx.redis.hget(redis_keys.tier_floors(shop), customer_id)
        return orjson.loads(held) if held else None

    async def set_floor(request: Request, session: Session) -> Response:
        shop, customer_id = session.shop, str(request.path_params["customer_id"])
        change = parse_body(FloorChange, await request.body())
        tier = next((t for t in await tiers_of(shop) if t.lower() == change.tier.lower()), None)
        if tier is None:
            raise BadParameters({"tier": f"not one of the shop's tiers ({', '.join(await tiers_of(shop))})"})
        if change.until is not None and change.until < datetime.now(UTC).date():
            raise BadParameters({"until": "that day has passed"})
        if not await ctx.redis.hexists(redis_keys.customers(shop), customer_id):
            return _json({"error": "unknown customer"}, 404)
        until = change.until.isoformat() if change.until else None
        return await _write(request, shop, customer_id, tier, until)

    async def remove_floor(request: Request, session: Session) -> Response:
        return await _write(request, session.shop, str(request.path_params["customer_id"]), None, None)

    async def _write(
        request: Request, shop: str, customer_id: str, tier: str | None, until: str | None
    ) -> Response:
        before = await floor_of(shop, customer_id)
        await ctx.imports.set_floor(shop, customer_id, tier, until)
        after = {"tier": tier, "until": until} if tier else None
        changes = [
            Change(
                field="tier_floor",
                before=before and {k: before.get(k) for k in ("tier", "until")},
                after=after,
            )
        ]
        action: AuditAction = "tier_override.set" if tier else "tier_override.removed"
        await ctx.audit.record(request, shop, action, changes=changes, details={"customer_id": customer_id})
        return _json({"customer_id": customer_id, "tier_floor": after}, 202)

    def route(path: str, handler: Any, methods: list[str], **kwargs: Any) -> Route:
        return Route(path, authenticated(ctx, handler, **kwargs), methods=methods)

    return [
        Route("/api/imports", by_method(ctx, get=listing, post=start), methods=["GET", "POST"]),
        route("/api/imports/{import_id}", one, ["GET"]),
        route("/api/imports/{import_id}/rejected.csv", rejected_csv, ["GET"], query_token=True),
        route("/api/imports/{import_id}/cancel", cancel, ["POST"]),
        Route(
            "/api/customers/{customer_id:int}/tier-floor",
            by_method(ctx, put=set_floor, delete=remove_floor),
            methods=["PUT", "DELETE"],
        ),
    ]
