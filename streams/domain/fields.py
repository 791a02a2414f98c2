"""Parsing of Shopify payload fields: money strings and ISO timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def money(value: Any) -> Decimal:
    """Shopify money fields are strings ("29.99"); anything unparsable counts as zero."""
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from Shopify's ISO 8601 strings (offsets kept, naive taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
