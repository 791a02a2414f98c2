"""The app's pages (server-rendered with Jinja2), each for the shop of the page load's session.

A page load carries the session token as `?id_token=`; without a valid one the merchant is told
to open the app from the Shopify admin (401), except inside the admin, where Shopify's bounce
page fetches a fresh token and reloads (admin/session.py).

A page gets its data from the app's own JSON API, called in-process with the page load's
session token (admin/page_view.py), so a page shows exactly what `/app/api/` answers and checks
input the same way. Forms post back to their page and work without JavaScript;
admin/static/admin.js adds the live parts and keeps the session token fresh under App Bridge.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from admin import charts, forms, home
from admin.context import AdminContext
from admin.formatting import compact_money, money, register
from admin.page_view import SESSION_PARAMS, STATIC, Api, Pages, View, open_from_admin, static_urls
from streams.agents.order_days import read_days
from streams.domain import templates
from streams.domain.rfm import AT_RISK, LOST, SEGMENT_NAMES

DAYS_CHARTED = 30
PAGE_SIZE = 50  # the API's default `limit`
# The list's columns after name, tier and segment: (label, sort key or None, hidden on phones).
CUSTOMER_COLUMNS = (
    ("Orders", "orders_count", False),
    ("Total spent", "total_spent", True),
    ("Net spent", "net_spent", False),
    ("Avg. order", None, True),
    ("Last order", "last_order_at", False),
)
FILTERS = ("q", "tier", "segment", "last_order_from", "last_order_to", "min_orders")
# What the list's parameters are called on the page (a refusal names them).
PARAMETER_LABELS = {
    "q": "Search",
    "tier": "Tier",
    "segment": "Segment",
    "last_order_from": "Last order from",
    "last_order_to": "Last order to",
    "min_orders": "Orders",
    "cursor": "Page",
    "sort": "Sort",
    "order": "Order",
    "limit": "Page size",
}
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


def _count(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else default


def rfm_risk(recency: int) -> dict[str, str]:
    """How likely a customer is to be lapsing, from their recency score (1 = longest ago)."""
    if recency <= 2:
        return {"label": "High", "tone": "critical"}
    return {"label": "Medium", "tone": "warning"} if recency == 3 else {"label": "Low", "tone": "success"}


def initials(name: str | None) -> str:
    return "".join(word[0] for word in (name or "").split()[:2]).upper() or "#"


async def _listing(api: Api, query: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """The list page's rows, the parameters the API refused, and a note when Shopify could not
    be searched (the list is then shown unsearched)."""
    listing = await api.get("/api/customers", query, ok=(422, 502))
    if "errors" in listing:
        return {"customers": [], "total": 0, "next": None}, listing["errors"], None
    if "customers" in listing:
        return listing, {}, None
    note = f"Shopify could not be searched ({listing.get('error')}): showing every customer."
    unsearched = await api.get("/api/customers", {k: v for k, v in query.items() if k != "q"})
    return unsearched, {}, note


def page_routes(ctx: AdminContext) -> list[BaseRoute]:
    register(ctx.templates.env)
    static_urls(ctx)
    ctx.templates.env.globals["segment_tone"] = lambda segment: SEGMENT_TONES.get(segment, "")
    page = Pages(ctx)

    async def home_page(view: View) -> Response:
        shop = view.session.shop
        overview = await view.api.get("/api/overview")
        currency = overview.get("currency")
        days = [
            charts.Day(d.day, d.orders, d.net)
            for d in await read_days(ctx.redis, shop, datetime.now(UTC).date(), DAYS_CHARTED)
        ]
        vips = overview.get("vips", {})
        growth = overview["new_customers"].get("growth_percent")
        return view.render(
            "home.html",
            title="Home",
            overview=overview,
            currency=currency,
            days=days,
            daily=charts.daily_chart(
                days, lambda v: money(v, currency), lambda v: compact_money(v, currency)
            ),
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
            sync=home.sync_view(overview.get("sync") or {}),
            embed=await home.embed_state(ctx.redis, shop, ctx.settings.shopify_api_key),
            recent=await home.recent_notifications(ctx.redis, shop),
            sse_url=f"{ctx.settings.push_url}/sse/{shop}",
        )

    async def customers_page(view: View) -> Response:
        query = {k: v for k, v in view.request.query_params.items() if k not in (*SESSION_PARAMS, "p")}
        selection = {k: v for k, v in query.items() if k != "cursor"}
        listing, errors, search_note = await _listing(view.api, query)
        sort, order = query.get("sort", "net_spent"), query.get("order", "desc")
        number = _count(view.request.query_params.get("p"), 1) if listing["customers"] else 1
        first_row = (number - 1) * _count(query.get("limit"), PAGE_SIZE) + 1

        def sorted_by(key: str) -> str:
            """The list sorted by `key`: highest first, or lowest first when it already is."""
            return view.url(
                "customers",
                **{**selection, "sort": key, "order": "asc" if (key, order) == (sort, "desc") else "desc"},
            )

        return view.render(
            "customers.html",
            title="Customers",
            listing=listing,
            params={**{k: query.get(k) for k in FILTERS}, "sort": sort, "order": order},
            filtered=any(query.get(k) for k in FILTERS),
            errors=errors,
            labels=PARAMETER_LABELS,
            search_note=search_note,
            keep=view.kept,
            tiers=[rule.name for rule in (await view.api.settings()).tiers],
            segment_names=SEGMENT_NAMES,
            columns=[
                {"label": label, "sort": key, "narrow": narrow, "href": sorted_by(key) if key else None}
                for label, key, narrow in CUSTOMER_COLUMNS
            ],
            sort_labels={key: label.lower() for label, key, _ in CUSTOMER_COLUMNS if key},
            page_number=number,
            first_row=first_row,
            last_row=first_row + len(listing["customers"]) - 1,
            next_url=view.url("customers", **selection, cursor=listing["next"], p=number + 1),
            first_page_url=view.url("customers", **selection),
            export_url=lambda kind: view.api_url(f"customers.{kind}", **selection),
        )

    async def customer_page(view: View) -> Response:
        customer_id = view.request.path_params["customer_id"]
        customer = await view.api.get(f"/api/customers/{customer_id}", ok=(404,))
        if "customer_id" not in customer:
            reason = (
                f"StorePulse knows no customer #{customer_id} in {view.session.shop}: "
                "customers appear with their first order."
            )
            return view.render(
                "unavailable.html", 404, title="Customer not found", reason=reason, tone="warning"
            )
        shop, name = view.session.shop, customer.get("name") or f"Customer #{customer_id}"
        return view.render(
            "customer.html",
            title=name,
            customer=customer,
            display_name=name,
            initials=initials(customer.get("name")),
            risk=rfm_risk(customer["rfm"]["recency"]),
            orders=customer.get("orders", []),
            history=customer.get("tier_history", []),
            status_tones=ORDER_STATUS_TONES,
            shopify_url=customer.get("admin_url") or f"https://{shop}/admin/customers/{customer_id}",
            order_url=lambda order_id: f"https://{shop}/admin/orders/{order_id}",
            back_url=view.url("customers"),
            tiers=[rule.name for rule in (await view.api.settings()).tiers],
        )

    async def vip_page(view: View) -> Response:
        values, errors, preview = forms.vip_values(await view.api.settings()), forms.Errors(), None
        if view.posted:
            form = await view.request.form()
            values = forms.submitted_vip(form)
            body = forms.vip_body(values)
            if form.get("intent") == "preview":
                proposal = {
                    "tiers": orjson.dumps(body["tiers"]).decode(),
                    "vip_dropoff_days": body["vip_dropoff_days"],
                }
                answer = await view.api.get("/api/vip-preview", proposal, ok=(422,))
                errors = forms.field_errors(answer.get("errors", {}))
                preview = None if errors else answer
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
            saved=view.request.query_params.get("saved") == "1" and not view.posted,
        )

    async def notifications_page(view: View) -> Response:
        current = await view.api.settings()
        values, errors = forms.notification_values(current), forms.Errors()
        if view.posted:
            values = forms.submitted_notifications(await view.request.form())
            body, errors = forms.notification_body(values, current)
            if not errors:
                answer = await view.api.put("/api/settings", body, ok=(422,))
                if "errors" not in answer:
                    return RedirectResponse(view.url("notification_settings", saved=1), status_code=303)
                errors = forms.field_errors(answer["errors"])
        languages = sorted({*templates.BUILT_IN, *current.templates})
        return view.render(
            "notifications.html",
            title="Notifications",
            values=values,
            errors=errors,
            saved=view.request.query_params.get("saved") == "1" and not view.posted,
            languages=languages,
            kinds=forms.KINDS,
            template_names=sorted(templates.TEMPLATE_NAMES),
            template_fields={kind: sorted(fields) for kind, fields in templates.FIELDS.items()},
            # The live preview words its samples as the worker would (admin/static/preview.js).
            wording={
                lang: vars(templates.BUILT_IN[lang]) if lang in templates.BUILT_IN else None
                for lang in languages
            },
            built_in=lambda lang, name: templates.built_in(name, lang) if lang in templates.BUILT_IN else "",
            overrides=current.templates,
            widget_url=f"{ctx.settings.push_url}/widget.js",
        )

    async def patch_id_token(request: Request) -> Response:
        if ctx.auth is None:
            return open_from_admin(ctx, request, "the app is not configured", 503)
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
            page("notification_settings", notifications_page),
            methods=["GET", "POST"],
            name="notification_settings",
        ),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
