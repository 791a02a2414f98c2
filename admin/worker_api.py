"""The worker's admin API (streams/web/lookups.py), called from the server side of the app with
the service's admin token: the browser never sees that token, and every path names the shop of
the caller's session."""

from __future__ import annotations

from typing import Any

import httpx


class WorkerUnavailable(Exception):
    """The worker did not answer; the app answers 503."""


class WorkerApi:
    def __init__(self, base_url: str, admin_token: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout,
        )

    async def customer(self, shop: str, customer_id: str) -> dict[str, Any] | None:
        """A customer's metrics and ledger orders, or None when the worker knows no such customer."""
        answer = await self._call("GET", f"/shops/{shop}/customers/{customer_id}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json()

    async def settings(self, shop: str) -> dict[str, Any]:
        answer = await self._call("GET", f"/shops/{shop}/settings")
        answer.raise_for_status()
        return answer.json()

    async def put_settings(self, shop: str, settings: dict[str, Any]) -> httpx.Response:
        """The worker's answer as it is: 200/202 with the settings, 422 with the reasons."""
        return await self._call("PUT", f"/shops/{shop}/settings", json=settings)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise WorkerUnavailable(f"the worker did not answer: {type(exc).__name__}") from exc
