"""The settings pages' HTML forms: what a page shows in its fields, and the `PUT /app/api/settings`
body a submitted form stands for. Checking the values is the API's job (one set of rules); only
what a form alone can get wrong (a number of hours, a template's fields) is caught here, so the
error sits beside the field that caused it.

Field names follow the settings' own paths (`tiers.0.min_orders`, `widget.gap_s`), so a reason
the API gives for a path lands on the field of that name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from starlette.datastructures import FormData

from storepulse.contracts import NotificationKind, ShopSettings
from streams.domain import templates

Values = dict[str, Any]
Errors = dict[str, str]

TIER_FIELDS = ("name", "tag", "min_orders", "min_spent")
_TIER_FIELD = re.compile(r"^tiers\.(\d+)\.(\w+)$")
# A reason the API gives for one item of a list belongs to the list's field.
_ITEM = re.compile(
    r"^(enabled_kinds|excluded_products|trending_thresholds|widget\.include_urls|widget\.exclude_urls)\.\d+$"
)
# Form fields that show a setting in other units.
_SHOWN_AS = {"max_purchase_age_s": "max_purchase_age_hours"}


def field_errors(errors: Mapping[str, str]) -> Errors:
    """The API's reasons by form field (pydantic's "Value error, " prefix dropped)."""
    placed: Errors = {}
    for path, reason in errors.items():
        name = _SHOWN_AS.get(path) or (m.group(1) if (m := _ITEM.match(path)) else path)
        placed.setdefault(name, reason.removeprefix("Value error, "))
    return placed


def _decimal_text(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f") if value is not None else ""


def vip_values(settings: ShopSettings) -> Values:
    values: Values = {"vip_dropoff_days": str(settings.vip_dropoff_days)}
    values["writeback_dry_run"] = settings.writeback_dry_run
    for i, rule in enumerate(settings.tiers):
        values |= {
            f"tiers.{i}.name": rule.name,
            f"tiers.{i}.tag": rule.tag,
            f"tiers.{i}.min_orders": str(rule.min_orders),
            f"tiers.{i}.min_spent": _decimal_text(rule.min_spent),
        }
    return values


def tier_rows(values: Values) -> list[int]:
    """The tier rows a form holds, in order (a removed row leaves a gap in the numbers)."""
    return sorted({int(m.group(1)) for name in values if (m := _TIER_FIELD.match(name))})


def submitted_vip(form: FormData) -> Values:
    """The VIP form as submitted (a row left wholly blank is no tier)."""
    values: Values = {"vip_dropoff_days": str(form.get("vip_dropoff_days", "")).strip()}
    values["writeback_dry_run"] = form.get("writeback_dry_run") == "on"
    rows = {int(m.group(1)) for name in form if (m := _TIER_FIELD.match(name))}
    kept = 0
    for row in sorted(rows):
        fields = {f: str(form.get(f"tiers.{row}.{f}", "")).strip() for f in TIER_FIELDS}
        if any(fields.values()):
            values |= {f"tiers.{kept}.{f}": v for f, v in fields.items()}
            kept += 1
    return values


def vip_body(values: Values) -> dict[str, Any]:
    tiers = [
        {f: values[f"tiers.{row}.{f}"] or _blank_default(f) for f in TIER_FIELDS} for row in tier_rows(values)
    ]
    return {
        "tiers": tiers,
        "vip_dropoff_days": values["vip_dropoff_days"],
        "writeback_dry_run": values["writeback_dry_run"],
    }


def _blank_default(field: str) -> str:
    """A blank bound is a bound not used (0); a blank name or tag stays blank and is refused."""
    return "0" if field in ("min_orders", "min_spent") else ""


def notification_values(settings: ShopSettings) -> Values:
    lang = settings.languages[0]  # the wording form opens on the default language's
    overrides = settings.templates.get(lang, {})
    values: Values = {
        "enabled_kinds": list(settings.enabled_kinds),
        "min_order_value": _decimal_text(settings.min_order_value),
        "excluded_products": "\n".join(settings.excluded_products),
        "buyer_display": settings.buyer_display,
        "max_purchase_age_hours": _decimal_text(Decimal(settings.max_purchase_age_s) / 3600),
        "language": lang,
        "trending_thresholds": ", ".join(str(t) for t in settings.trending_thresholds),
        "viewing_min_viewers": str(settings.viewing_min_viewers),
        "low_stock_threshold": str(settings.low_stock_threshold),
        "cart_min": str(settings.cart_min),
        "visitors_min": str(settings.visitors_min),
        "review_min_rating": str(settings.review_min_rating),
    }
    widget = settings.widget
    values |= {f"widget.{name}": str(getattr(widget, name)) for name in WIDGET_FIELDS}
    values |= {f"widget.{name}": "\n".join(getattr(widget, name)) for name in WIDGET_LISTS}
    values |= {f"widget.colours.{name}": getattr(widget.colours, name) for name in COLOURS}
    for kind in KINDS:
        values[f"widget.priority.{kind}"] = str(widget.priority.get(kind, ""))
        age = widget.max_age_s.get(kind)
        values[f"widget.max_age_min.{kind}"] = _decimal_text(Decimal(age) / 60) if age else ""
    values |= {f"template.{name}": overrides.get(name, "") for name in sorted(templates.TEMPLATE_NAMES)}
    return values


# The widget's settings the form shows as they are (one-line fields and choices)…
WIDGET_FIELDS = (
    "position",
    "mobile_position",
    "devices",
    "pages",
    "delay_s",
    "duration_s",
    "gap_s",
    "gap_jitter_s",
    "max_per_page",
    "max_per_session",
    "dismiss_pause_s",
    "theme",
    "radius_px",
    "font",
)
WIDGET_LISTS = ("include_urls", "exclude_urls")  # …one per line
COLOURS = ("background", "text", "accent")
KINDS: tuple[NotificationKind, ...] = get_args(NotificationKind)

# The notifications form's one-line fields.
NOTIFICATION_FIELDS = (
    "min_order_value",
    "buyer_display",
    "max_purchase_age_hours",
    "language",
    "trending_thresholds",
    "viewing_min_viewers",
    "low_stock_threshold",
    "cart_min",
    "visitors_min",
    "review_min_rating",
    *(f"widget.{name}" for name in WIDGET_FIELDS),
    *(f"widget.colours.{name}" for name in COLOURS),
    *(f"widget.priority.{kind}" for kind in KINDS),
    *(f"widget.max_age_min.{kind}" for kind in KINDS),
    *(f"template.{name}" for name in sorted(templates.TEMPLATE_NAMES)),
)


def submitted_notifications(form: FormData) -> Values:
    values: Values = {name: str(form.get(name, "")).strip() for name in NOTIFICATION_FIELDS}
    values["enabled_kinds"] = [str(k) for k in form.getlist("enabled_kinds")]
    values["excluded_products"] = str(form.get("excluded_products", ""))
    values |= {f"widget.{name}": str(form.get(f"widget.{name}", "")) for name in WIDGET_LISTS}
    return values


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s]+", text) if part.strip()]


def notification_body(values: Values, current: ShopSettings) -> tuple[dict[str, Any], Errors]:
    """The settings body the form stands for, and what the form alone shows to be wrong."""
    errors: Errors = {}
    try:
        age_s = int(Decimal(values["max_purchase_age_hours"]) * 3600)
    except InvalidOperation:
        errors["max_purchase_age_hours"] = "enter a number of hours, e.g. 24 or 0.5"
        age_s = current.max_purchase_age_s
    # The language whose wording the form edits (which languages the shop sells in: admin/languages.py).
    lang = values["language"] or current.languages[0]
    overrides = {}
    for name in sorted(templates.TEMPLATE_NAMES):
        text = values[f"template.{name}"]
        if not text:
            continue
        error = templates.template_error(name, text)
        if error:
            errors[f"template.{name}"] = error
        overrides[name] = text
    shop_templates = {k: v for k, v in current.templates.items() if k != lang}
    if overrides:
        shop_templates[lang] = overrides
    body = {
        "enabled_kinds": values["enabled_kinds"],
        "min_order_value": values["min_order_value"] or "0",
        "excluded_products": _split(values["excluded_products"]),
        "buyer_display": values["buyer_display"],
        "max_purchase_age_s": age_s,
        "templates": shop_templates,
        "trending_thresholds": _split(values["trending_thresholds"]),
        "viewing_min_viewers": values["viewing_min_viewers"],
        "low_stock_threshold": values["low_stock_threshold"],
        "cart_min": values["cart_min"],
        "visitors_min": values["visitors_min"],
        "review_min_rating": values["review_min_rating"],
        "widget": _widget_body(values, errors),
    }
    return body, errors


def _widget_body(values: Values, errors: Errors) -> dict[str, Any]:
    widget: dict[str, Any] = {name: values[f"widget.{name}"] for name in WIDGET_FIELDS}
    widget |= {name: values[f"widget.{name}"].split() for name in WIDGET_LISTS}
    widget["colours"] = {name: values[f"widget.colours.{name}"] for name in COLOURS}
    widget["priority"] = {k: values[f"widget.priority.{k}"] for k in KINDS if values[f"widget.priority.{k}"]}
    ages = {}
    for kind in KINDS:
        if text := values[f"widget.max_age_min.{kind}"]:
            try:
                ages[kind] = int(Decimal(text) * 60)
            except InvalidOperation:
                errors[f"widget.max_age_min.{kind}"] = "enter a number of minutes, e.g. 30"
    widget["max_age_s"] = ages
    return widget
