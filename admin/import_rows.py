"""Checking an import's rows: whom each names, which of the shop's tiers, until when.

A row is a `Candidate` or `Rejected` with its reason: `unknown customer`, `unknown tier`, `bad
date`, `duplicate row` or `unreadable line`, and a detail for the merchant. Emails are resolved
to customer ids through the shop's Admin API (one paced search each) and kept nowhere: neither
a rejection's detail nor the import's log repeats them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import structlog

from admin.import_files import Row
from shopify.admin import AdminApi, AdminApiError, Retryable

log = structlog.get_logger(__name__)

UNKNOWN_CUSTOMER = "unknown customer"
UNKNOWN_TIER = "unknown tier"
BAD_DATE = "bad date"
DUPLICATE = "duplicate row"
_CUSTOMER_ID = re.compile(r"(?:gid://shopify/Customer/)?([0-9]{1,20})")
_EMAIL = re.compile(r"[^@\s\"\\]+@[^@\s\"\\]+")
EMAIL_QUERY = """
query CustomerByEmail($query: String!) {
  customers(first: 1, query: $query) { edges { node { id } } }
}
"""


@dataclass(frozen=True)
class Candidate:
    row: int
    customer_id: str | None  # None until its email is resolved
    email: str | None
    tier: str
    until: str | None


@dataclass(frozen=True)
class Rejected:
    row: int
    reason: str
    detail: str = ""

    def record(self) -> dict[str, object]:
        return {"row": self.row, "reason": self.reason, "detail": self.detail}


def check(row: Row, tiers: Mapping[str, str], today: date) -> Candidate | Rejected:
    """The row as an update, or why it is rejected. `tiers`: the shop's tier names by lower case."""
    if row.error:
        return Rejected(row.number, row.error)
    values = row.values
    customer_id, email = values.get("customer_id", ""), values.get("email", "")
    matched = _CUSTOMER_ID.fullmatch(customer_id) if customer_id else None
    if customer_id and matched is None:
        return Rejected(row.number, UNKNOWN_CUSTOMER, f"{customer_id!r} is not a Shopify customer id")
    if matched is None and not _EMAIL.fullmatch(email):
        return Rejected(row.number, UNKNOWN_CUSTOMER, "no customer id and no valid email")
    tier = tiers.get(values.get("tier", "").strip().lower())
    if tier is None:
        names = ", ".join(tiers.values()) or "none"
        return Rejected(row.number, UNKNOWN_TIER, f"{values.get('tier', '')!r} (the shop's tiers: {names})")
    until = values.get("expires_on", "")
    if until:
        day = _day(until)
        if day is None:
            return Rejected(row.number, BAD_DATE, f"{until!r}: write the day as YYYY-MM-DD")
        if day < today:
            return Rejected(row.number, BAD_DATE, f"{until!r} has passed")
        until = day.isoformat()
    return Candidate(
        row.number, matched.group(1) if matched else None, None if matched else email, tier, until or None
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        return None


class EmailResolver:
    """Customer ids by email, from the shop's Admin API (paced by its cost limit)."""

    def __init__(self, api: AdminApi) -> None:
        self._api = api

    async def customer_id(self, shop: str, email: str) -> str | None:
        """The id of the shop's customer with this email; None when there is none (or Shopify
        would not say, which the row's rejection cannot tell apart)."""
        try:
            data = await self._api.query(shop, EMAIL_QUERY, {"query": f'email:"{email}"'}, cost=2)
        except (AdminApiError, Retryable) as exc:
            log.warning("import_email_unresolved", shop=shop, reason=str(exc))
            return None
        edges = data["customers"]["edges"]
        return str(edges[0]["node"]["id"]).rsplit("/", 1)[-1] if edges else None
