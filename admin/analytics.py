"""What the Analytics page and `GET /app/api/analytics` show: the counters streams keeps in
`analytics:{shop}` (streams/agents/analytics.py), summed over days, kinds and arms, and the
experiment's results with their statistics (admin/experiment_stats.py) in plain words.

Counter fields are `{dimension}|{metric}`: dimension `all`, `kind:{kind}` or `arm:{arm}` for a
day, the arm for an experiment. Money is an exact decimal string in the shop currency.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import redis.asyncio as redis

from admin import experiment_stats as stats
from storepulse import redis_keys
from storepulse.contracts import AnalyticsSettings, Experiment
from streams.domain.arms import HOLDOUT, arm_weights

COUNTS = ("impressions", "visitors", "clicks", "dismissals", "orders_view", "orders_click")
MONEY = ("revenue_view", "revenue_click")
MAX_DAYS = 90


def _blank() -> dict[str, Any]:
    return {**dict.fromkeys(COUNTS, 0), **dict.fromkeys(MONEY, Decimal(0))}


def _finish(figures: dict[str, Any]) -> dict[str, Any]:
    """Derived figures, and money as strings."""
    out = dict(figures)
    out["orders"] = figures["orders_view"] + figures["orders_click"]
    revenue = figures["revenue_view"] + figures["revenue_click"]
    out["ctr"] = round(figures["clicks"] / figures["impressions"], 4) if figures["impressions"] else None
    for name in MONEY:
        out[name] = str(figures[name])
    out["revenue"] = str(revenue)
    return out


def days_back(today: date, days: int) -> list[str]:
    return [(today - timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]


def today_in(timezone: str | None, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone) if timezone else UTC).date()


def summarize(day_counters: dict[str, dict[str, Any]], days: list[str]) -> dict[str, Any]:
    """totals, by_day, by_kind and by_arm over `days` (each a day's counter fields, or absent)."""
    totals = _blank()
    by_kind: dict[str, dict[str, Any]] = {}
    by_arm: dict[str, dict[str, Any]] = {}
    by_day = []
    for day in days:
        fields = day_counters.get(day, {})
        today = _blank()
        for field, value in fields.items():
            dimension, _, metric = field.partition("|")
            if metric not in COUNTS and metric not in MONEY:
                continue
            amount = Decimal(value) if metric in MONEY else value
            if dimension == "all":
                today[metric] += amount
                totals[metric] += amount
            elif dimension.startswith("kind:"):
                by_kind.setdefault(dimension[5:], _blank())[metric] += amount
            elif dimension.startswith("arm:"):
                by_arm.setdefault(dimension[4:], _blank())[metric] += amount
        by_day.append({"day": day, **_finish(today)})
    return {
        "totals": _finish(totals),
        "by_day": by_day,
        "by_kind": {k: _finish(v) for k, v in sorted(by_kind.items())},
        "by_arm": {k: _finish(v) for k, v in sorted(by_arm.items())},
    }


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def experiment_results(exp: Experiment, fields: dict[str, Any]) -> dict[str, Any]:
    """Each arm's figures, each against the reference arm, the sample-ratio check and a verdict."""
    weights = arm_weights(exp)
    arms: list[dict[str, Any]] = []
    for arm, weight in weights.items():
        visitors, exposed = fields.get(f"{arm}|visitors", 0), fields.get(f"{arm}|exposed", 0)
        converted, revenue = fields.get(f"{arm}|converted", 0), Decimal(fields.get(f"{arm}|revenue", "0"))
        arms.append(
            {
                "arm": arm,
                "weight": round(weight, 4),
                "visitors": visitors,
                "exposed": exposed,
                "orders": fields.get(f"{arm}|orders", 0),
                "converted": converted,
                "conversion_rate": round(converted / exposed, 6) if exposed else None,
                "revenue": str(revenue),
                "revenue_per_visitor": str((revenue / exposed).quantize(Decimal("0.01")))
                if exposed
                else None,
            }
        )
    reference = arms[0]
    for row in arms[1:]:
        result = stats.compare(row["converted"], row["exposed"], reference["converted"], reference["exposed"])
        row["vs_reference"] = (
            None
            if result is None
            else {
                "absolute": result.absolute,
                "absolute_ci": list(result.absolute_ci),
                "relative": result.relative,
                "relative_ci": list(result.relative_ci) if result.relative_ci else None,
                "p_value": result.p_value,
                "test": result.test,
            }
        )
    srm = stats.sample_ratio_p([a["visitors"] for a in arms], list(weights.values()))
    return {
        "id": exp.id,
        "started_at": exp.started_at.isoformat(),
        "stopped_at": exp.stopped_at.isoformat() if exp.stopped_at else None,
        "holdout_pct": exp.holdout_pct,
        "variants": [{"name": v.name, "weight": v.weight} for v in exp.variants],
        "reference": reference["arm"],
        "arms": arms,
        "sample_ratio": {"p_value": srm, "mismatch": srm is not None and srm < stats.SRM_ALPHA},
        "verdicts": [verdict(reference, row) for row in arms[1:]],
    }


def verdict(reference: dict[str, Any], arm: dict[str, Any]) -> str:
    """The comparison in plain words, or how many more visitors a verdict needs."""
    who = "Shoppers who saw notifications" if reference["arm"] == HOLDOUT else f"Variant {arm['arm']}"
    than = "" if reference["arm"] == HOLDOUT else f" than {reference['arm']}"
    result = arm.get("vs_reference")
    ci = result["relative_ci"] if result else None
    # Significant when the test says so and the interval agrees (both exclude no change).
    if result and ci and result["p_value"] < 0.05 and ci[0] * ci[1] > 0:
        more = "more" if result["relative"] > 0 else "less"
        low, high = sorted(abs(x) for x in ci)
        change = _pct(abs(result["relative"]))
        return f"{who} converted {change} {more}{than} (95 % CI {_pct(low)} to {_pct(high)})."
    baseline = reference["conversion_rate"] or arm["conversion_rate"]
    needed = stats.visitors_needed(baseline) if baseline else None
    if needed is None:
        return "Not enough data yet: no conversions to plan from."
    more_visitors = max(needed - reference["exposed"], 0) + max(needed - arm["exposed"], 0)
    if more_visitors:
        return f"Not enough data yet: {more_visitors:,} more visitors needed for a 5 % uplift."
    p = result["p_value"] if result else 1.0
    return f"No clear difference{than} (p = {p:.2f}) after enough visitors to see a 5 % uplift."


async def read(
    client: redis.Redis, shop: str, rules: AnalyticsSettings, days: int, now: datetime
) -> dict[str, Any]:
    """The `GET /app/api/analytics?days=N` body."""
    wanted = days_back(today_in(rules.timezone, now), days)
    experiments = [*rules.past_experiments, *([rules.experiment] if rules.experiment else [])]
    raw = await client.hmget(
        redis_keys.analytics(shop), [f"d:{d}" for d in wanted] + [f"x:{e.id}" for e in experiments]
    )
    day_counters = {d: orjson.loads(v) for d, v in zip(wanted, raw[: len(wanted)], strict=True) if v}
    results = {
        e.id: experiment_results(e, orjson.loads(v) if v else {})
        for e, v in zip(experiments, raw[len(wanted) :], strict=True)
    }
    current = rules.experiment
    return {
        "days": days,
        "timezone": rules.timezone or "UTC",
        "windows": {"view_through_hours": rules.view_window_h, "click_through_days": rules.click_window_d},
        **summarize(day_counters, wanted),
        "experiment": {**results[current.id], "running": current.stopped_at is None} if current else None,
        "past_experiments": [results[e.id] for e in reversed(rules.past_experiments)],
    }


def started(
    rules: AnalyticsSettings, holdout_pct: int, variants: list[dict[str, Any]], now: datetime
) -> AnalyticsSettings:
    """The settings with a new experiment (new id); the one before, stopped, kept for its results."""
    past = list(rules.past_experiments)
    if rules.experiment is not None:
        past.append(stopped(rules, now).experiment or rules.experiment)
    new = Experiment.model_validate(
        {
            "id": f"exp-{now:%Y%m%d}-{secrets.token_hex(3)}",
            "started_at": now,
            "holdout_pct": holdout_pct,
            "variants": variants,
        }
    )
    return rules.model_copy(update={"experiment": new, "past_experiments": past[-50:]})


def stopped(rules: AnalyticsSettings, now: datetime) -> AnalyticsSettings:
    """The settings with the running experiment stopped now (its results stay)."""
    exp = rules.experiment
    if exp is None or exp.stopped_at is not None:
        return rules
    return rules.model_copy(update={"experiment": exp.model_copy(update={"stopped_at": now})})
