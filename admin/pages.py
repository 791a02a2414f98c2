"""The app's pages (server-rendered with Jinja2), each for the shop of the page load's session.

A page load carries the session token as `?id_token=`; without a valid one the merchant is told
to open the app from the Shopify admin (401), except inside the admin, where Shopify's bounce
page fetches a fresh token and reloads (admin/session.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import overview
from admin.context import AdminContext
from admin.session import Refused, Session
from storepulse.contracts import ShopSettings

PageHandler = Callable[[Request, Session], Awaitable[Response]]


def render(ctx: AdminContext, request: Request, session: Session, template: str, **context: Any) -> Response:
    """A page of the app: Shopify's headers for an embedded document, and what every page needs."""
    page = ctx.templates.TemplateResponse(
        request,
        template,
        {
            "shop": session.shop,
            "api_key": ctx.settings.shopify_api_key,
            # No Shopify admin around the dev stack, so no App Bridge (it would leave for one).
            "app_bridge": not ctx.settings.dev_auto_install,
            "id_token": request.query_params.get("id_token", ""),
            **context,
        },
    )
    page.headers.update(session.page_headers)
    return page


def page(ctx: AdminContext, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    """`handler` for the page load's session; without one, where to open the app instead."""

    async def endpoint(request: Request) -> Response:
        if ctx.auth is None:
            return _open_from_admin(ctx, request, "the app is not configured", 503)
        try:
            session = await ctx.auth.page(request)
        except Refused as exc:
            return _open_from_admin(ctx, request, exc.reason, exc.status)
        if isinstance(session, Response):
            return session
        return await handler(request, session)

    return endpoint


def _open_from_admin(ctx: AdminContext, request: Request, reason: str, status: int) -> Response:
    return ctx.templates.TemplateResponse(
        request, "open_from_admin.html", {"reason": reason}, status_code=status
    )


def page_routes(ctx: AdminContext) -> list[Route]:
    async def home(request: Request, session: Session) -> Response:
        now = overview.utc_now()
        index = await ctx.indexes.get(session.shop)
        settings = ShopSettings.model_validate(await ctx.worker.settings(session.shop))
        return render(
            ctx,
            request,
            session,
            "home.html",
            figures=overview.customer_figures(index, settings, now),
            published=await overview.notification_figures(ctx.redis, session.shop, now),
            backfill=await ctx.backfills.state(session.shop),
        )

    async def patch_id_token(request: Request) -> Response:
        if ctx.auth is None:
            return _open_from_admin(ctx, request, "the app is not configured", 503)
        return ctx.auth.patch_page(request)

    return [
        Route("/", page(ctx, home), methods=["GET"]),
        Route("/auth/patch-id-token", patch_id_token, methods=["GET"]),
    ]
