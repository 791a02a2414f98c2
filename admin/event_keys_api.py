"""`/app/api/event-keys`: the shop's keys for the events API (ingest `POST /api/events`).

A key is answered once, when it is made or rotated, and never again: the list shows names and
dates only. Every change goes to the audit log (its name and id, never the key).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from admin.api import authenticated, by_method
from admin.context import AdminContext
from admin.params import BadParameters, parse_body
from admin.session import Session
from storepulse.event_keys import EventKeys

# Keys a shop may hold at once: enough for every tool it connects, few enough to review.
MAX_KEYS = 20


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _unknown() -> Response:
    return JSONResponse({"error": "unknown key"}, status_code=404)


def event_key_routes(ctx: AdminContext) -> list[Route]:
    keys = EventKeys(ctx.redis)

    async def list_keys(request: Request, session: Session) -> Response:
        return _json({"keys": await keys.listed(session.shop)})

    async def create_key(request: Request, session: Session) -> Response:
        new = parse_body(NewKey, await request.body())
        if len(await keys.listed(session.shop)) >= MAX_KEYS:
            raise BadParameters({"name": f"a shop holds at most {MAX_KEYS} keys: revoke one first"})
        key_id, key = await keys.create(session.shop, new.name)
        await ctx.audit.record(
            request, session.shop, "event_key.created", details={"id": key_id, "name": new.name}
        )
        return _json({"id": key_id, "name": new.name, "key": key}, 201)

    async def rotate_key(request: Request, session: Session) -> Response:
        key_id = str(request.path_params["key_id"])
        key = await keys.rotate(session.shop, key_id)
        if key is None:
            return _unknown()
        await ctx.audit.record(request, session.shop, "event_key.rotated", details={"id": key_id})
        return _json({"id": key_id, "key": key})

    async def revoke_key(request: Request, session: Session) -> Response:
        key_id = str(request.path_params["key_id"])
        if not await keys.revoke(session.shop, key_id):
            return _unknown()
        await ctx.audit.record(request, session.shop, "event_key.revoked", details={"id": key_id})
        return _json({"id": key_id, "revoked": True})

    return [
        Route("/api/event-keys", by_method(ctx, get=list_keys, post=create_key), methods=["GET", "POST"]),
        Route("/api/event-keys/{key_id:str}/rotate", authenticated(ctx, rotate_key), methods=["POST"]),
        Route("/api/event-keys/{key_id:str}", authenticated(ctx, revoke_key), methods=["DELETE"]),
    ]
