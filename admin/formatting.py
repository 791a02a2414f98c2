"""How the pages write money, counts, days and times (Babel's CLDR data, so "$1,234.50" and
"3 days ago" read as Shopify's admin writes them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_timedelta
from babel.numbers import format_compact_currency, format_currency, format_decimal
from jinja2 import Environment

LOCALE = "en"
MISSING = "—"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(value: Any, currency: str | None = None) -> str:
    """`value` (a decimal string, as the API gives money) in the shop currency."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    if not currency:
        return format_decimal(amount, "#,##0.00", locale=LOCALE)
    return format_currency(amount, currency, locale=LOCALE)


def compact_money(value: float, currency: str | None = None) -> str:
    """An axis label: "$1.5K"."""
    if not currency:
        return format_decimal(value, "#,##0.#", locale=LOCALE)
    return format_compact_currency(value, currency, locale=LOCALE, fraction_digits=1)


def number(value: Any) -> str:
    amount = _decimal(value)
    return MISSING if amount is None else format_decimal(amount, locale=LOCALE)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day(value: Any) -> str:
    """ "Dec 2, 2026" for a date or an ISO timestamp."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, "medium", locale=LOCALE)
    moment = _moment(value)
    return MISSING if moment is None else format_date(moment.date(), "medium", locale=LOCALE)


def ago(value: Any, now: datetime | None = None) -> str:
    """ "3 days ago", "in 5 minutes" (epoch seconds, ISO timestamps and datetimes)."""
    moment = datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else _moment(value)
    if moment is None:
        return MISSING
    delta = moment - (now or datetime.now(UTC))
    if abs(delta.total_seconds()) < 45:
        return "just now"
    return format_timedelta(delta, add_direction=True, locale=LOCALE)


def register(env: Environment) -> None:
    env.filters.update(money=money, number=number, day=day, ago=ago)
