"""The app's pages (server-rendered with Jinja2), each for the shop of the page load's session.

A page load carries the session token as `?id_token=`; without a valid one the merchant is told
to open the app from the Shopify admin (401), except inside the admin, where Shopify's bounce
page fetches a fresh token and reloads (admin/session.py).

A page gets its data from the app's own JSON API, called in-process with the page load's
session token, so a page shows exactly what `/app/api/` answers and checks input the same way.
Forms post back to their page (they work without JavaScript); admin/static/admin.js adds the
live parts and keeps the session token fresh under App Bridge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from jinja2 import pass_context
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from admin import charts, forms, home
from admin.context import AdminContext
from admin.formatting import compact_money, money, register
from admin.session import Refused, Session
from storepulse.contracts import ShopSettings
from streams.agents.order_days import read_days
from streams.domain import templates
from streams.domain.rfm import AT_RISK, LOST, SEGMENT_NAMES

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str
    within: tuple[str, ...] = ()  # pages that belong to this section (a customer to Customers)


# The app's navigation. Later sections (languages, audit log, import, sync, analytics) add
# themselves here when they exist: the menu never links to a page that is not there.
NAV: tuple[NavItem, ...] = (
    NavItem("Home", "home"),
    NavItem("Customers", "customers", ("customer",)),
    NavItem("VIP program", "vip"),
    NavItem("Notifications", "notifications"),
)
# Query parameters of Shopify's embedded launch that every link keeps (the session token among them).
SESSION_PARAMS = ("id_token", "shop", "host", "embedded", "locale")
DAYS_CHARTED = 30
CUSTOMER_SORTS = (  # (label, sort key or None, hidden on narrow screens)
    ("Orders", "orders_count", False),
    ("Total spent", "total_spent", True),
    ("Net spent", "net_spent", False),
    ("Avg. order", None, True),
    ("Last order", "last_order_at", False),
)
SEGMENT_TONES = {
    "champions": "success",
    "loyal": "success",
    "new customers": "info",
    "potential loyalist": "info",
    "promising": "info",
    "need attention": "warning",
    "hibernating": "warning",
    "cannot lose them": "critical",
    AT_RISK: "critical",
    LOST: "",
}
RISKY = ("cannot lose them", AT_RISK, "hibernating", LOST)
ORDER_STATUS_TONES = {
    "open": "success",
    "partially refunded": "warning",
    "refunded": "",
    "cancelled": "critical",
}
FILTER_LABELS = {
    "q": "Search",
    "tier": "Tier",
    "segment": "Segment",
    "last_order_from": "Last order from",
    "last_order_to": "Last order to",
    "min_orders": "Orders",
    "cursor": "Page",
    "sort": "Sort",
    "order": "Order",
}


class ApiFailed(Exception):
    """The app's API could not answer a page's question (the worker or Shopify was away)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Api:
    """The app's JSON API as a page load asks it: in-process, with the page's session token."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, ok: tuple[int, ...] = ()
    ) -> Any:
        return self._answer(await self._http.get(path, params=params, headers=self._headers), ok)

    async def put(self, path: str, body: Any, *, ok: tuple[int, ...] = ()) -> Any:
        answer = await self._http.put(path, content=orjson.dumps(body), headers=self._headers)
        return self._answer(answer, ok)

    @staticmethod
    def _answer(answer: httpx.Response, ok: tuple[int, ...]) -> Any:
        if answer.is_success or answer.status_code in ok:
            return answer.json()
        if answer.status_code in (401, 403):
            raise Refused(answer.status_code, answer.json().get("error", "session refused"))
        raise ApiFailed(answer.status_code, answer.json().get("error", f"status {answer.status_code}"))


def _static_versions() -> dict[str, str]:
    """A content hash per static file: browsers cache them for good, a change gets a new URL."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC.iterdir() if p.is_file()}


class View:
    """One page load: its session, its links, and the API as its session may ask it."""

    def __init__(
        self,
        ctx: AdminContext,
        name: str,
        request: Request,
        session: Session,
        api: Api,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.request = request
        self.session = session
        self.api = api
        self.kept = {k: v for k in SESSION_PARAMS if (v := request.query_params.get(k))}

    def url(self, name: str, **params: Any) -> str:
        """The path of page `name` with the session's launch parameters and `params` (path
        parameters of the route fill its path; the rest, when not empty, go in the query)."""
        route = next(r for r in self.request.app.routes if getattr(r, "name", None) == name)
        path_params = {k: params.pop(k) for k in list(params) if k in route.param_convertors}
        path = self.request.url_for(name, **path_params).path
        return self._with_query(path, params)

    def api_url(self, name: str, **params: Any) -> str:
        """The path of `/app/api/{name}`, for the browser (downloads carry the session token)."""
        return self._with_query(f"{self.request.scope.get('root_path', '')}/api/{name}", params)

    def _with_query(self, path: str, params: Mapping[str, Any]) -> str:
        query = {**self.kept, **{k: v for k, v in params.items() if v not in (None, "")}}
        return f"{path}?{urlencode(query)}" if query else path

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        nav = [
            {"label": i.label, "href": self.url(i.route), "current": self.name in (i.route, *i.within)}
            for i in NAV
        ]
        page = self.ctx.templates.TemplateResponse(
            self.request,
            template,
            {
                "shop": self.session.shop,
                "api_key": self.ctx.settings.shopify_api_key,
                # No Shopify admin around the dev stack, so no App Bridge (it would leave for one).
                "app_bridge": not self.ctx.settings.dev_auto_install,
                "id_token": self.request.query_params.get("id_token", ""),
                "nav": nav,
                "url": self.url,
                "api_url": self.api_url,
                "segment_tone": lambda s: SEGMENT_TONES.get(s, ""),
                **context,
            },
            status_code=status,
        )
        page.headers.update(self.session.page_headers)
        return page


PageHandler = Callable[[View], Awaitable[Response]]


def _open_from_admin(ctx: AdminContext, request: Request, reason: str, status: int) -> Response:
    return ctx.templates.TemplateResponse(
        request, "open_from_admin.html", {"reason": reason}, status_code=status
    )


def page_routes(ctx: AdminContext) -> list[BaseRoute]:
    register(ctx.templates.env)
    versions = _static_versions()

    @pass_context
    def static(context: Mapping[str, Any], name: str) -> str:
        """A static file's path; its content hash in the query lets browsers cache it for good."""
        return f"{context['request'].url_for('static', path=name).path}?v={versions[name]}"

    ctx.templates.env.globals["static"] = static
    in_process: dict[int, httpx.AsyncClient] = {}

    def api_for(request: Request) -> httpx.AsyncClient:
        app = request.app
        if id(app) not in in_process:
            transport = httpx.ASGITransport(app=app)
            in_process[id(app)] = httpx.AsyncClient(
                transport=transport, base_url="http://app", trust_env=False
            )
        return in_process[id(app)]

    def page(name: str, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if ctx.auth is None:
                return _open_from_admin(ctx, request, "the app is not configured", 503)
            try:
                session = await ctx.auth.page(request)
            except Refused as exc:
                return _open_from_admin(ctx, request, exc.reason, exc.status)
            if isinstance(session, Response):
                return session
            api = Api(api_for(request), request.query_params.get("id_token", ""))
            view = View(ctx, name, request, session, api)
            try:
                return await handler(view)
            except Refused as exc:
                return _open_from_admin(ctx, request, exc.reason, exc.status)
            except ApiFailed as exc:
                return view.render(
                    "unavailable.html", status=503, title="Unavailable", reason=exc.reason, tone="critical"
                )

        return endpoint

    async def home_page(view: View) -> Response:
        shop = view.session.shop
        overview = await view.api.get("/api/overview")
        currency = overview.get("currency")
        now = datetime.now(UTC)
        days = [
            charts.Day(d.day, d.orders, d.net)
            for d in await read_days(ctx.redis, shop, now.date(), DAYS_CHARTED)
        ]
        daily = charts.daily_chart(days, lambda v: money(v, currency), lambda v: compact_money(v, currency))
        vips = overview.get("vips", {})
        growth = overview["new_customers"].get("growth_percent")
        return view.render(
            "home.html",
            title="Home",
            overview=overview,
            currency=currency,
            days=days,
            daily=daily,
            daily_summary=(
                f"{sum(d.orders for d in days)} orders and {money(sum(d.net for d in days), currency)} "
                f"net revenue in the last {DAYS_CHARTED} days"
            ),
            segments=charts.segment_bars(overview.get("segments", {}), SEGMENT_NAMES, RISKY),
            vip_total=sum(vips.values()),
            vip_note=" · ".join(f"{tier} {count}" for tier, count in vips.items()) or "No tiers configured",
            growth_note=(
                "Nothing to compare with last month yet"
                if growth is None
                else f"{growth:+.1f}% against the same days last month"
            ),
            backfill=home.backfill_view(overview.get("backfill") or {}),
            embed=await home.embed_state(ctx.redis, shop, ctx.settings.shopify_api_key),
            recent=await home.recent_notifications(ctx.redis, shop),
            sse_url=f"{ctx.settings.push_url}/sse/{shop}",
        )

    async def customers_page(view: View) -> Response:
        query = {k: v for k, v in view.request.query_params.items() if k not in (*SESSION_PARAMS, "p")}
        selection = {k: v for k, v in query.items() if k != "cursor"}
        listing = await view.api.get("/api/customers", query, ok=(422, 502))
        errors: dict[str, str] = {}
        search_note = None
        if "errors" in listing:
            errors = listing["errors"]
        elif "customers" not in listing:
            search_note = f"Shopify could not be searched ({listing.get('error')}): showing every customer."
            listing = await view.api.get(
                "/api/customers", {k: v for k, v in query.items() if k != "q"}, ok=(422,)
            )
        if "customers" not in listing:
            listing = {"customers": [], "total": 0, "next": None}
        settings = ShopSettings.model_validate(await view.api.get("/api/settings"))
        sort, order = query.get("sort", "net_spent"), query.get("order", "desc")
        page_number = int(view.request.query_params.get("p", "1") or 1) if listing["customers"] else 1
        limit = int(query.get("limit") or 50) if str(query.get("limit", "")).isdigit() else 50
        columns = [
            {
                "label": label,
                "sort": key,
                "narrow": narrow,
                "href": view.url(
                    "customers",
                    **{
                        **selection,
                        "sort": key,
                        "order": "asc" if key == sort and order == "desc" else "desc",
                    },
                )
                if key
                else None,
            }
            for label, key, narrow in CUSTOMER_SORTS
        ]
        first_row = (page_number - 1) * limit + 1
        return view.render(
            "customers.html",
            title="Customers",
            listing=listing,
            params={**{k: query.get(k) for k in FILTER_LABELS}, "sort": sort, "order": order},
            filtered=any(
                query.get(k)
                for k in ("q", "tier", "segment", "last_order_from", "last_order_to", "min_orders")
            ),
            errors=errors,
            labels=FILTER_LABELS,
            search_note=search_note,
            keep=view.kept,
            tiers=[rule.name for rule in settings.tiers],
            segment_names=SEGMENT_NAMES,
            columns=columns,
            sort_labels={key: label.lower() for label, key, _ in CUSTOMER_SORTS if key},
            page_number=page_number,
            first_row=first_row,
            last_row=first_row + len(listing["customers"]) - 1,
            next_url=view.url("customers", **selection, cursor=listing["next"], p=page_number + 1),
            first_page_url=view.url("customers", **selection),
            export_url=lambda kind: view.api_url(f"customers.{kind}", **selection),
        )

    async def customer_page(view: View) -> Response:
        customer_id = view.request.path_params["customer_id"]
        customer = await view.api.get(f"/api/customers/{customer_id}", ok=(404,))
        if "customer_id" not in customer:
            return view.render(
                "unavailable.html",
                status=404,
                title="Customer not found",
                tone="warning",
                reason=(
                    f"StorePulse knows no customer #{customer_id} in {view.session.shop}: "
                    "customers appear with their first order."
                ),
            )
        name = customer.get("name")
        words = (name or "").split()
        recency = customer["rfm"]["recency"]
        risk = (
            ("High", "critical")
            if recency <= 2
            else ("Medium", "warning")
            if recency == 3
            else ("Low", "success")
        )
        shop = view.session.shop
        return view.render(
            "customer.html",
            title=name or f"Customer #{customer_id}",
            customer=customer,
            display_name=name or f"Customer #{customer_id}",
            initials="".join(w[0] for w in words[:2]).upper() or "#",
            risk={"label": risk[0], "tone": risk[1]},
            orders=customer.get("orders", []),
            history=customer.get("tier_history", []),
            status_tones=ORDER_STATUS_TONES,
            shopify_url=customer.get("admin_url") or f"https://{shop}/admin/customers/{customer_id}",
            order_url=lambda order_id: f"https://{shop}/admin/orders/{order_id}",
            back_url=view.url("customers"),
        )

    async def vip_page(view: View) -> Response:
        current = ShopSettings.model_validate(await view.api.get("/api/settings"))
        values, errors, preview = forms.vip_values(current), {}, None
        if view.request.method == "POST":
            form = await view.request.form()
            values = forms.submitted_vip(form)
            body = forms.vip_body(values)
            if form.get("intent") == "preview":
                proposal = {
                    "tiers": orjson.dumps(body["tiers"]).decode(),
                    "vip_dropoff_days": body["vip_dropoff_days"],
                }
                answer = await view.api.get("/api/vip-preview", proposal, ok=(422,))
                errors, preview = (
                    forms.field_errors(answer.get("errors", {})),
                    answer if "errors" not in answer else None,
                )
            else:
                answer = await view.api.put("/api/settings", body, ok=(422,))
                if "errors" not in answer:
                    return RedirectResponse(view.url("vip", saved=1), status_code=303)
                errors = forms.field_errors(answer["errors"])
        rows = forms.tier_rows(values)
        return view.render(
            "vip.html",
            title="VIP program",
            values=values,
            rows=rows,
            next_row=max(rows, default=-1) + 1,
            errors=errors,
            preview=preview,
            saved=view.request.query_params.get("saved") == "1" and view.request.method == "GET",
        )

    async def notifications_page(view: View) -> Response:
        current = ShopSettings.model_validate(await view.api.get("/api/settings"))
        values, errors = forms.notification_values(current), {}
        if view.request.method == "POST":
            values = forms.submitted_notifications(await view.request.form())
            body, errors = forms.notification_body(values, current)
            if not errors:
                answer = await view.api.put("/api/settings", body, ok=(422,))
                if "errors" not in answer:
                    return RedirectResponse(view.url("notifications", saved=1), status_code=303)
                errors = forms.field_errors(answer["errors"])
        languages = sorted({*templates.BUILT_IN, *current.templates})
        return view.render(
            "notifications.html",
            title="Notifications",
            values=values,
            errors=errors,
            saved=view.request.query_params.get("saved") == "1" and view.request.method == "GET",
            languages=languages,
            template_names=sorted(templates.TEMPLATE_NAMES),
            template_fields={kind: sorted(fields) for kind, fields in templates.FIELDS.items()},
            wording={
                lang: {**vars(templates.BUILT_IN[lang])} if lang in templates.BUILT_IN else None
                for lang in languages
            },
            overrides=current.templates,
            widget_url=f"{ctx.settings.push_url}/widget.js",
        )

    async def patch_id_token(request: Request) -> Response:
        if ctx.auth is None:
            return _open_from_admin(ctx, request, "the app is not configured", 503)
        return ctx.auth.patch_page(request)

    return [
        Route("/auth/patch-id-token", patch_id_token, methods=["GET"]),
        Route("/", page("home", home_page), methods=["GET"], name="home"),
        Route("/customers", page("customers", customers_page), methods=["GET"], name="customers"),
        Route(
            "/customers/{customer_id:int}", page("customer", customer_page), methods=["GET"], name="customer"
        ),
        Route("/vip", page("vip", vip_page), methods=["GET", "POST"], name="vip"),
        Route(
            "/notifications",
            page("notifications", notifications_page),
            methods=["GET", "POST"],
            name="notifications",
        ),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
