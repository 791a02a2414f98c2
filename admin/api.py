"""The app's JSON API under `/app/api/` (docs/merchant-app.md has an example per route).

Every route runs for the shop of the caller's session token and no other: handlers get the
`Session` and never read a shop from the query or the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from admin import analytics, overview, vip_preview
from admin.context import AdminContext
from admin.customers import PageParameters, Selection
from admin.names import SearchFailed
from admin.params import BadParameters, field_errors, parse, parse_body, unprocessable
from admin.session import Refused, Session, refusal
from admin.worker_api import WorkerUnavailable
from ingest.backfill_runs import BackfillRunning
from ingest.sync_runs import SyncRunning
from storepulse import redis_keys
from storepulse.audit import AuditAction
from storepulse.contracts import ShopSettings


class AnalyticsParameters(BaseModel):
    days: int = Field(30, ge=1, le=analytics.MAX_DAYS)


class ExperimentPlan(BaseModel):
    """`POST /app/api/analytics/experiment`: what the new experiment tests."""

    holdout_pct: int = Field(0, ge=0, le=50)
    variants: list[dict[str, Any]] = Field([], max_length=4)


log = structlog.get_logger(__name__)

Handler = Callable[[Request, Session], Awaitable[Response]]
NOT_CONFIGURED = "the app is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET"
# Fields of the settings the worker sets itself.
NOT_SETTABLE = ("updated_at",)


class SyncRequest(BaseModel):
    """POST /app/api/sync's optional body: `full` reads every order, not only those updated since."""

    model_config = ConfigDict(extra="forbid")
    full: bool = False


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def authenticated(ctx: AdminContext, handler: Handler, *, query_token: bool = False) -> Callable:
    """`handler` for the session's shop; refusals and bad parameters answered the same everywhere."""

    async def endpoint(request: Request) -> Response:
        if ctx.auth is None:
            return JSONResponse({"error": NOT_CONFIGURED}, status_code=503)
        try:
            session = await ctx.auth.api(request, query_token=query_token)
            await ctx.staff.admit(request, session)  # 403 for a role that may not do this
            return await handler(request, session)
        except Refused as exc:
            return refusal(exc)
        except BadParameters as exc:
            return unprocessable(exc)
        except SearchFailed as exc:
            return JSONResponse({"error": str(exc)}, status_code=502)
        except WorkerUnavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)

    return endpoint


def api_routes(ctx: AdminContext) -> list[Route]:
    async def shop_settings(shop: str) -> ShopSettings:
        return ShopSettings.model_validate(await ctx.worker.settings(shop))

    async def get_overview(request: Request, session: Session) -> Response:
        now = overview.utc_now()
        index = await ctx.indexes.get(session.shop)
        figures = overview.customer_figures(index, await shop_settings(session.shop), now)
        return _json(
            {
                **figures,
                "notifications_published": await overview.notification_figures(ctx.redis, session.shop, now),
                "backfill": await ctx.backfills.state(session.shop),
                "sync": await ctx.syncs.state(session.shop),
            }
        )

    async def list_customers(request: Request, session: Session) -> Response:
        params = parse(PageParameters, request.query_params)
        return _json(await ctx.customers.page(session.shop, params))

    def export(kind: Literal["csv", "jsonl"]) -> Handler:
        media = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}[kind]
        suffix = {"csv": "csv", "jsonl": "jsonl"}[kind]

        async def download(request: Request, session: Session) -> Response:
            selection = parse(Selection, request.query_params)
            await ctx.customers.filters(session.shop, selection)  # bad filters: 422 before streaming
            name = f"customers-{session.shop.removesuffix('.myshopify.com')}.{suffix}"
            return StreamingResponse(
                ctx.customers.export(session.shop, selection, kind),
                media_type=media,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )

        return download

    async def customer(request: Request, session: Session) -> Response:
        customer_id = str(request.path_params["customer_id"])
        metrics = await ctx.worker.customer(session.shop, customer_id)
        if metrics is None:
            return JSONResponse({"error": "unknown customer"}, status_code=404)
        async with ctx.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(redis_keys.customer_history(session.shop, customer_id), 0, -1)
            pipe.hget(redis_keys.customer_tags(session.shop), customer_id)
            history, tags = await pipe.execute()
        names = await ctx.names.names(session.shop, [customer_id])
        metrics.pop("shop", None)
        return _json(
            {
                **metrics,
                "customer_id": customer_id,
                "name": names[customer_id],
                "tier_history": [orjson.loads(h) for h in history],
                "tags": orjson.loads(tags) if tags else [],
                "admin_url": f"https://{session.shop}/admin/customers/{customer_id}",
            }
        )

    async def get_settings(request: Request, session: Session) -> Response:
        return _json(await ctx.worker.settings(session.shop))

    async def put_settings(request: Request, session: Session) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise BadParameters({"body": f"not JSON: {exc}"}) from exc
        if not isinstance(body, dict):
            raise BadParameters({"body": "must be a JSON object of settings"})
        if body.get("shop", session.shop) != session.shop:
            raise BadParameters({"shop": "settings can only be changed for the shop of your session"})
        return await save_settings(request, session, body)

    async def save_settings(
        request: Request, session: Session, body: dict[str, Any], action: AuditAction | None = None
    ) -> Response:
        # Fields left out keep their current value, so each settings page sends only its own.
        current = await ctx.worker.settings(session.shop)
        merged = {**current, **body, "shop": session.shop}
        for name in NOT_SETTABLE:
            merged.pop(name, None)
        answer = await ctx.worker.put_settings(session.shop, merged)
        if answer.status_code == 422:
            reasons = answer.json()
            errors = {".".join(map(str, e["loc"])) or "settings": e["msg"] for e in reasons.get("detail", [])}
            raise BadParameters(errors or {"settings": reasons.get("error", "invalid settings")})
        answer.raise_for_status()
        await ctx.audit.settings_saved(request, session.shop, current, answer.json(), action)
        return _json(answer.json(), answer.status_code)

    async def get_vip_preview(request: Request, session: Session) -> Response:
        proposal = parse(vip_preview.Proposal, request.query_params)
        settings = proposal.applied_to(await shop_settings(session.shop))
        index = await ctx.indexes.get(session.shop)
        return _json(vip_preview.preview(index, settings, overview.utc_now()))

    async def get_backfill(request: Request, session: Session) -> Response:
        return _json(await ctx.backfills.state(session.shop))

    async def start_backfill(request: Request, session: Session) -> Response:
        try:
            started = await ctx.backfills.start(session.shop)
            await ctx.audit.record(request, session.shop, "backfill.started")
            return _json(started, 202)
        except BackfillRunning as exc:
            return _json({"error": str(exc), "backfill": exc.state}, 409)

    async def get_sync(request: Request, session: Session) -> Response:
        return _json(await ctx.syncs.state(session.shop))

    async def start_sync(request: Request, session: Session) -> Response:
        asked = parse_body(SyncRequest, await request.body() or b"{}")
        try:
            queued = await ctx.syncs.request(session.shop, full=asked.full)
        except SyncRunning as exc:
            return _json({"error": str(exc), "sync": exc.state}, 409)
        await ctx.audit.record(request, session.shop, "sync.started", details={"full": asked.full})
        return _json(queued, 202)

    async def get_analytics(request: Request, session: Session) -> Response:
        params = parse(AnalyticsParameters, request.query_params)
        rules = (await shop_settings(session.shop)).analytics
        return _json(await analytics.read(ctx.redis, session.shop, rules, params.days, overview.utc_now()))

    async def start_experiment(request: Request, session: Session) -> Response:
        plan = parse_body(ExperimentPlan, await request.body())
        rules = (await shop_settings(session.shop)).analytics
        try:
            new = analytics.started(rules, plan.holdout_pct, plan.variants, overview.utc_now())
        except ValidationError as exc:
            raise BadParameters(field_errors(exc)) from exc
        return await save_settings(
            request, session, {"analytics": new.model_dump(mode="json")}, "experiment.started"
        )

    async def stop_experiment(request: Request, session: Session) -> Response:
        rules = (await shop_settings(session.shop)).analytics
        new = analytics.stopped(rules, overview.utc_now())
        return await save_settings(
            request, session, {"analytics": new.model_dump(mode="json")}, "experiment.stopped"
        )

    def route(path: str, handler: Handler, methods: list[str], **kwargs: Any) -> Route:
        return Route(path, authenticated(ctx, handler, **kwargs), methods=methods)

    return [
        route("/api/overview", get_overview, ["GET"]),
        route("/api/customers", list_customers, ["GET"]),
        # Downloads start as a navigation (a link), which cannot add a header: ?id_token= too.
        route("/api/customers.csv", export("csv"), ["GET"], query_token=True),
        route("/api/customers.json", export("jsonl"), ["GET"], query_token=True),
        route("/api/customers/{customer_id:int}", customer, ["GET"]),
        Route("/api/settings", by_method(ctx, get=get_settings, put=put_settings), methods=["GET", "PUT"]),
        route("/api/vip-preview", get_vip_preview, ["GET"]),
        route("/api/analytics", get_analytics, ["GET"]),
        route("/api/analytics/experiment", start_experiment, ["POST"]),
        route("/api/analytics/experiment/stop", stop_experiment, ["POST"]),
        Route(
            "/api/backfill", by_method(ctx, get=get_backfill, post=start_backfill), methods=["GET", "POST"]
        ),
        Route("/api/sync", by_method(ctx, get=get_sync, post=start_sync), methods=["GET", "POST"]),
    ]


def by_method(ctx: AdminContext, **handlers: Handler) -> Callable:
    endpoints = {method.upper(): authenticated(ctx, h) for method, h in handlers.items()}

    async def endpoint(request: Request) -> Response:
        return await endpoints[request.method](request)

    return endpoint
