"""Who may open a stream: installed shops only, within per-IP and global connection caps."""

from __future__ import annotations

from collections import Counter

from storepulse.contracts import is_shop_domain
from storepulse.shops import INSTALLED, CachedStatus, ShopRegistry


class InstalledShops:
    """Whether a shop may be streamed: `ShopRegistry` status through the shared cache."""

    def __init__(self, registry: ShopRegistry, ttl_s: float, *, dev_any_shop: bool = False) -> None:
        self._status = CachedStatus(registry, ttl_s)
        # `storepulse dev` installs a shop on its first webhook, so a page may connect first.
        self._dev_any_shop = dev_any_shop

    async def __call__(self, shop: str) -> bool:
        """Raises redis errors when the answer is not cached and Redis is unreachable."""
        if not is_shop_domain(shop):
            return False
        return self._dev_any_shop or await self._status(shop) == INSTALLED


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
