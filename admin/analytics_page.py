"""The Analytics page: the funnel (impressions → clicks → attributed orders and revenue), a chart
per day, a table per notification kind, and the experiment's results in plain words, with a form
to start or stop a holdout experiment. Its data is `GET /app/api/analytics` (admin/analytics.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from starlette.responses import Response
from starlette.routing import Route

from admin import charts
from admin.context import AdminContext
from admin.formatting import compact_money, money
from admin.page_view import Pages, View

DAYS = 30


def analytics_page_routes(ctx: AdminContext) -> list[Route]:
    page = Pages(ctx)

    async def analytics_page(view: View) -> Response:
        errors: dict[str, str] = {}
        if view.posted:
            form = await view.request.form()
            if form.get("action") == "stop":
                await view.api.send("POST", "/api/analytics/experiment/stop")
            else:
                answer = await view.api.send(
                    "POST",
                    "/api/analytics/experiment",
                    json={"holdout_pct": form.get("holdout_pct") or 0},
                    ok=(422,),
                )
                errors = answer.get("errors", {})
        body = await view.api.get("/api/analytics", {"days": DAYS})
        days = [
            charts.Day(date.fromisoformat(d["day"]), d["orders"], Decimal(d["revenue"]))
            for d in body["by_day"]
        ]
        totals = body["totals"]
        return view.render(
            "analytics.html",
            title="Analytics",
            body=body,
            totals=totals,
            errors=errors,
            daily=charts.daily_chart(days, money, compact_money),
            daily_summary=f"{totals['orders']} attributed orders and {money(totals['revenue'])} attributed "
            f"revenue over the last {DAYS} days",
            experiment=body["experiment"],
        )

    return [Route("/analytics", page("analytics", analytics_page), methods=["GET", "POST"], name="analytics")]
