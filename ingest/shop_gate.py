"""Which shops ingest takes webhooks from: the registry's answer, cached briefly per process."""

from __future__ import annotations

from shopify.topics import SHOP_TOPICS
from storepulse.shops import INSTALLED, UNKNOWN, CachedStatus, ShopRegistry


class ShopGate:
    """The registry's answer per webhook, cached (`CachedStatus`) to spare a Redis round trip."""

    def __init__(
        self, registry: ShopRegistry, ttl_s: float, maxsize: int = 100_000, auto_install: bool = False
    ) -> None:
        self._registry = registry
        self.status = CachedStatus(registry, ttl_s, maxsize)
        self._auto_install = auto_install

    async def refusal(self, shop: str, topic: str) -> str | None:
        """Why a webhook of `topic` from `shop` is dropped, or None when it is taken."""
        status = await self.status(shop)
        if status == UNKNOWN and self._auto_install:
            await self._registry.install(shop, access_token="")  # dev only: no real shop behind it
            self.status.remember(shop, status := INSTALLED)
        # app/uninstalled and the compliance topics still come (and count) after an uninstall.
        if status == INSTALLED or (status != UNKNOWN and topic in SHOP_TOPICS):
            return None
        return f"{status}_shop"

    def forget(self, shop: str) -> None:
        """This process changed the shop's record: do not serve the old answer."""
        self.status.forget(shop)
