"""Shopify Admin GraphQL, paced by the cost limit it reports and retried when that is safe.

Used by the streams worker (VIP tag write-back) and the `storepulse backfill` command. Each shop
has a leaky bucket of query points whose size and restore rate depend on its plan, so the client
learns both from `extensions.cost.throttleStatus` on every answer and waits, before sending, until
the bucket should hold the points a request costs. THROTTLED answers, 5xx and network errors are
retried with exponential backoff and jitter (tenacity); anything else fails at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any

import httpx
import structlog
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
    def __init__(
        self,
        http: httpx.AsyncClient,
        token_for: TokenFor,
        *,
        base_url: str,
        api_version: str,
        attempts: int = 6,
        max_backoff_s: float = 10.0,
    ) -> None:
        self._http = http
        self._token_for = token_for
        self._base_url = base_url
        self._api_version = api_version
        self._attempts = attempts
        self._max_backoff = max_backoff_s
        self._budgets: dict[str, CostBudget] = {}

    def url(self, shop: str) -> str:
        return f"{self._base_url.format(shop=shop)}/admin/api/{self._api_version}/graphql.json"

    async def query(
        self, shop: str, document: str, variables: dict[str, Any] | None = None, *, cost: float = 10.0
    ) -> dict[str, Any]:
        """The `data` of a GraphQL request, retried through throttling and transient failures."""
        token = await self._token_for(shop)
        if not token:
            raise AdminApiError("no access token (shop not installed)")
        async for attempt in self._retrying():
            with attempt:
                return await self._once(shop, token, document, variables or {}, cost)
        raise AssertionError("unreachable: tenacity reraises the last failure")

    async def download(self, url: str, into: IO[bytes]) -> int:
        """Stream a bulk operation's result file into `into`; its size in bytes.

        The URL is pre-signed storage, not the Admin API: it gets no access token (and is never
        logged). A broken transfer starts over from the first byte, with the same retry policy.
        """
        async for attempt in self._retrying():
            with attempt:
                into.seek(0)
                into.truncate()
                try:
                    async with self._http.stream("GET", url) as answer:
                        if answer.status_code >= 500 or answer.status_code == 429:
                            raise Retryable(f"HTTP {answer.status_code}")
                        if answer.status_code != 200:
                            raise AdminApiError(f"bulk result download: HTTP {answer.status_code}")
                        async for chunk in answer.aiter_bytes():
                            into.write(chunk)
                except httpx.TransportError as exc:
                    raise Retryable(type(exc).__name__) from exc
                into.flush()
                return into.tell()
        raise AssertionError("unreachable: tenacity reraises the last failure")

    def _retrying(self) -> AsyncRetrying:
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
        try:
            answer = await self._http.post(
                self.url(shop),
                json={"query": document, "variables": variables},
                headers={"X-Shopify-Access-Token": token},
            )
        except httpx.TransportError as exc:
            raise Retryable(type(exc).__name__) from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Retryable(f"HTTP {answer.status_code}")
        if answer.status_code != 200:
            raise AdminApiError(f"HTTP {answer.status_code}")
        body = answer.json()
        status = (body.get("extensions") or {}).get("cost", {}).get("throttleStatus")
        if status:
            budget.observe(status)
        errors = body.get("errors")
        if isinstance(errors, list) and any(
            (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)
        ):
            log.info("shopify_throttled", shop=shop)
            raise Retryable("THROTTLED")
        if errors:
            raise AdminApiError("GraphQL errors")
        return body.get("data") or {}
