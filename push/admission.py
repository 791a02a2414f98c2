"""Who may open a stream: installed shops only, within per-IP and global connection caps."""

from __future__ import annotations

from collections import Counter

from cachetools import TTLCache

from storepulse.contracts import is_shop_domain
from storepulse.shops import ShopRegistry


class InstalledShops:
    """`ShopRegistry.is_installed`, cached so a page-view burst costs one Redis read."""

    def __init__(self, registry: ShopRegistry, ttl_s: float, *, dev_any_shop: bool = False) -> None:
        self._registry = registry
        self._installed: TTLCache[str, bool] = TTLCache(maxsize=100_000, ttl=ttl_s)
        # `storepulse dev` installs a shop on its first webhook, so a page may connect first.
        self._dev_any_shop = dev_any_shop

    async def __call__(self, shop: str) -> bool:
        """Raises redis errors when the answer is not cached and Redis is unreachable."""
        if not is_shop_domain(shop):
            return False
        if self._dev_any_shop:
            return True
        installed = self._installed.get(shop)
        if installed is None:
            installed = self._installed[shop] = await self._registry.is_installed(shop)
        return installed


class ConnectionCaps:
    """Counts open streams per client IP and in total."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total_cap = total
        self.per_ip_cap = per_ip
        self._per_ip: Counter[str] = Counter()
        self.total = 0

    def acquire(self, ip: str) -> str | None:
        """Take a slot for `ip`; the name of the cap that refuses it otherwise."""
        if self.total >= self.total_cap:
            return "global"
        if self._per_ip[ip] >= self.per_ip_cap:
            return "per_ip"
        self._per_ip[ip] += 1
        self.total += 1
        return None

    def release(self, ip: str) -> None:
        self.total -= 1
        self._per_ip[ip] -= 1
        if self._per_ip[ip] <= 0:
            del self._per_ip[ip]
