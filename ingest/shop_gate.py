"""Which shops ingest takes webhooks from: the registry's answer, cached briefly per process."""

from __future__ import annotations

from cachetools import TTLCache

from ingest.routing import SHOP_TOPICS
from storepulse.shops import INSTALLED, ShopRegistry


class ShopGate:
    """Saves ingest a Redis round trip per webhook; `ttl_s` bounds how stale an answer gets."""

    def __init__(
        self, registry: ShopRegistry, ttl_s: float, maxsize: int = 100_000, auto_install: bool = False
    ) -> None:
        self._registry = registry
        self._status: TTLCache[str, str] = TTLCache(maxsize=maxsize, ttl=ttl_s)
        self._auto_install = auto_install

    async def status(self, shop: str) -> str:
        """`installed`, `uninstalled` or `unknown`."""
        status = self._status.get(shop)
        if status is None:
            record = await self._registry.get(shop)
            status = record.status if record else "unknown"
            self._status[shop] = status
        return status

    async def refusal(self, shop: str, topic: str) -> str | None:
        """Why a webhook of `topic` from `shop` is dropped, or None when it is taken."""
        status = await self.status(shop)
        if status == "unknown" and self._auto_install:
            await self._registry.install(shop, access_token="")  # dev only: no real shop behind it
            self._status[shop] = status = INSTALLED
        # app/uninstalled and the compliance topics still come (and count) after an uninstall.
        if status == INSTALLED or (status != "unknown" and topic in SHOP_TOPICS):
            return None
        return f"{status}_shop"

    def forget(self, shop: str) -> None:
        """This process changed the shop's record: do not serve the old answer."""
        self._status.pop(shop, None)
