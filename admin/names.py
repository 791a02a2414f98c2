"""Customers' names and searches, asked of the shop's Admin GraphQL: StorePulse stores no names.

One `nodes(ids:)` request per page of the list (cost-paced by `shopify.admin.AdminApi`), the
answers cached in this process's memory for a few minutes and written nowhere. A shop that did
not grant the scope, or a request that fails, gives null names (the page shows "Customer #id");
a refusal is remembered as long as a name would be, so a shop without the grant is not asked on
every page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import structlog
from cachetools import TTLCache

from admin.params import BadParameters
from shopify.admin import AdminApi, AdminApiError, Retryable
from storepulse.shops import ShopRegistry

log = structlog.get_logger(__name__)

NAMES_QUERY = """
query CustomerNames($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Customer { id firstName lastName } }
}
"""
SEARCH_QUERY = """
query CustomerSearch($query: String!, $first: Int!) {
  customers(first: $first, query: $query) { edges { node { id } } }
}
"""
# Shopify answers at most 250 nodes, or 250 customers of a search, per request.
PER_REQUEST = 250
# Scopes under which Shopify may answer customers' names (with protected customer data access).
CUSTOMER_SCOPES = frozenset({"read_customers", "write_customers"})


NOT_GRANTED = "searching by name or email needs the shop's grant of customer data (read_customers)"


class SearchFailed(Exception):
    """Shopify's search did not answer (after retries)."""


def customer_gid(customer_id: str | int) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def legacy_id(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


class CustomerNames:
    def __init__(self, api: AdminApi, registry: ShopRegistry, ttl_s: float = 300.0) -> None:
        self._api = api
        self._registry = registry
        self._names: TTLCache[tuple[str, str], str | None] = TTLCache(maxsize=200_000, ttl=ttl_s)
        self._denied: TTLCache[str, bool] = TTLCache(maxsize=10_000, ttl=ttl_s)
        self._searches: TTLCache[tuple[str, str], frozenset[str]] = TTLCache(maxsize=1_000, ttl=ttl_s)

    async def granted(self, shop: str) -> bool:
        """Whether the shop's grant lets Shopify answer names (as far as we know)."""
        if shop in self._denied:
            return False
        record = await self._registry.get(shop)
        return record is not None and bool(CUSTOMER_SCOPES & set(record.scopes.split(",")))

    async def names(self, shop: str, customer_ids: Iterable[str]) -> dict[str, str | None]:
        """Each customer's name, or None when Shopify did not (or may not) say."""
        wanted = list(dict.fromkeys(customer_ids))
        missing = [c for c in wanted if (shop, c) not in self._names]
        if missing and await self.granted(shop):
            for start in range(0, len(missing), PER_REQUEST):
                await self._fetch(shop, missing[start : start + PER_REQUEST])
        return {c: self._names.get((shop, c)) for c in wanted}

    async def search(self, shop: str, query: str) -> frozenset[str]:
        """The ids of the shop's customers Shopify finds for `query` (a name or email; the first
        250 matches). Raises `BadParameters` (on `q`) when the shop did not grant customer data,
        `SearchFailed` when Shopify could not answer."""
        cached = self._searches.get((shop, query))
        if cached is not None:
            return cached
        if not await self.granted(shop):
            raise BadParameters({"q": NOT_GRANTED})
        variables = {"query": query, "first": PER_REQUEST}
        try:
            data = await self._api.query(shop, SEARCH_QUERY, variables, cost=2 + PER_REQUEST / 50)
        except Retryable as exc:
            log.warning("customer_search_failed", shop=shop, reason=str(exc))
            raise SearchFailed("Shopify's customer search failed; try again") from exc
        except AdminApiError as exc:
            self._denied[shop] = True
            raise BadParameters({"q": NOT_GRANTED}) from exc
        found = frozenset(legacy_id(e["node"]["id"]) for e in data["customers"]["edges"])
        self._searches[(shop, query)] = found
        return found

    async def _fetch(self, shop: str, customer_ids: Sequence[str]) -> None:
        variables = {"ids": [customer_gid(c) for c in customer_ids]}
        try:
            data = await self._api.query(shop, NAMES_QUERY, variables, cost=1 + len(customer_ids))
        except Retryable as exc:  # this page goes without names; the next one asks again
            log.info("customer_names_unavailable", shop=shop, reason=str(exc))
            return
        except AdminApiError as exc:
            # Most often the shop did not grant names (Shopify's ACCESS_DENIED): remember that.
            log.info("customer_names_refused", shop=shop, reason=str(exc))
            self._denied[shop] = True
            return
        found = {legacy_id(n["id"]): n for n in data.get("nodes") or () if n and n.get("id")}
        for customer_id in customer_ids:
            node = found.get(customer_id)
            parts = [node.get("firstName"), node.get("lastName")] if node else []
            self._names[(shop, customer_id)] = " ".join(p for p in parts if p) or None
