"""Shopify Admin GraphQL, paced by the cost limit it reports and retried when that is safe.

Used by the streams worker (VIP tag write-back), the install flow (webhook subscriptions) and
`storepulse backfill`. Each shop has a leaky bucket of query points whose size and restore rate
depend on its plan, so the client learns both from `extensions.cost.throttleStatus` on every
answer and waits, before sending, until the bucket should hold the points a request costs. The
request itself is shopifyapp's `admin_graphql_request_async`, told not to retry: THROTTLED
answers, 429, 5xx and network errors are retried here, after pacing, with exponential backoff
and jitter (tenacity); anything else fails at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import structlog
from shopify_app.graphql.admin_graphql import admin_graphql_request_async
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

log = structlog.get_logger(__name__)

TokenFor = Callable[[str], Awaitable[str | None]]


class AdminApiError(Exception):
    """A request that will not succeed by repeating it (bad token, user errors, bad query)."""


class Retryable(Exception):
    """THROTTLED, a 5xx or a network failure: worth another try after a pause."""


@dataclass
class CostBudget:
    """One shop's query points as last reported, refilled at the reported rate."""

    maximum: float = 1000.0
    restore_rate: float = 50.0
    available: float = 1000.0
    at: float = field(default_factory=time.monotonic)

    def _now_available(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.at) * self.restore_rate)

    def reserve(self, cost: float) -> float:
        """Take `cost` points; the seconds to wait before spending them."""
        now = time.monotonic()
        have = self._now_available(now)
        self.available, self.at = have - cost, now
        return max(0.0, -self.available / self.restore_rate)

    def observe(self, status: dict[str, Any]) -> None:
        self.maximum = float(status.get("maximumAvailable", self.maximum))
        self.restore_rate = float(status.get("restoreRate", self.restore_rate)) or self.restore_rate
        self.available = float(status.get("currentlyAvailable", self.available))
        self.at = time.monotonic()


class AdminApi:
    """GraphQL for any installed shop: `http` from `shopify_http`, tokens from `token_for`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_for: TokenFor,
        *,
        api_version: str,
        attempts: int = 6,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.http = http
        self._token_for = token_for
        self._api_version = api_version
        self._attempts = attempts
        self._max_backoff = max_backoff_s
        self._budgets: dict[str, CostBudget] = {}

    async def query(
        self, shop: str, document: str, variables: dict[str, Any] | None = None, *, cost: float = 10.0
    ) -> dict[str, Any]:
        """The `data` of a GraphQL request, retried through throttling and transient failures."""
        token = await self._token_for(shop)
        if not token:
            raise AdminApiError("no access token (shop not installed)")
        async for attempt in self.retrying():
            with attempt:
                return await self._once(shop, token, document, variables or {}, cost)
        raise AssertionError("unreachable: tenacity reraises the last failure")

    def retrying(self) -> AsyncRetrying:
        """The retry policy for anything that raises `Retryable` (also bulk result downloads)."""
        return AsyncRetrying(
            retry=retry_if_exception_type(Retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(multiplier=0.1, max=self._max_backoff),
            reraise=True,
        )

    async def _once(
        self, shop: str, token: str, document: str, variables: dict[str, Any], cost: float
    ) -> dict[str, Any]:
        budget = self._budgets.setdefault(shop, CostBudget())
        await asyncio.sleep(budget.reserve(cost))
        result = await admin_graphql_request_async(
            document,
            shop=shop.removesuffix(".myshopify.com"),
            access_token=token,
            api_version=self._api_version,
            variables=variables,
            max_retries=0,  # retried above, after pacing, with one policy for every failure
            http_client=self.http,
        )
        status = result.response.status
        if result.log.code == "network_error":
            raise Retryable("network error")
        if status >= 500 or status == 429:
            raise Retryable(f"HTTP {status}")
        if status != 200:
            raise AdminApiError(f"HTTP {status}")
        if result.ok:
            _observe(budget, result.extensions)
            return result.data or {}
        # GraphQL errors: shopifyapp keeps them (and that answer's cost) only in the raw body.
        body = orjson.loads(result.response.body)
        _observe(budget, body.get("extensions"))
        errors = body.get("errors")
        if isinstance(errors, list) and any(
            (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)
        ):
            log.info("shopify_throttled", shop=shop)
            raise Retryable("THROTTLED")
        raise AdminApiError("GraphQL errors")


def _observe(budget: CostBudget, extensions: dict[str, Any] | None) -> None:
    status = (extensions or {}).get("cost", {}).get("throttleStatus")
    if status:
        budget.observe(status)
