"""CachedStatus: answers from cache until they expire, and one Redis read per shop at a time."""

import asyncio
from typing import Any, cast

from redis.exceptions import ConnectionError as RedisConnectionError

from storepulse.shops import INSTALLED, UNKNOWN, CachedStatus, Shop, ShopRegistry


class SlowRegistry:
    """Counts reads; each takes a while, so concurrent callers overlap."""

    def __init__(self, fail: bool = False) -> None:
        self.reads = 0
        self.fail = fail

    async def get(self, shop: str) -> Shop | None:
        self.reads += 1
        await asyncio.sleep(0.05)
        if self.fail:
            raise RedisConnectionError("down")
        return Shop(shop, INSTALLED, "2026-01-01") if shop.startswith("a") else None


def cached(registry: SlowRegistry, ttl_s: float = 60, **kw: Any) -> CachedStatus:
    return CachedStatus(cast(ShopRegistry, registry), ttl_s, **kw)


async def test_concurrent_misses_share_one_read_then_hit_the_cache() -> None:
    registry = SlowRegistry()
    status = cached(registry)
    answers = await asyncio.gather(*(status("a.myshopify.com") for _ in range(50)))
    assert answers == [INSTALLED] * 50 and registry.reads == 1
    assert await status("a.myshopify.com") == INSTALLED and registry.reads == 1
    assert await status("b.myshopify.com") == UNKNOWN and registry.reads == 2


async def test_expired_answers_are_read_again_and_forget_drops_one() -> None:
    registry = SlowRegistry()
    status = cached(registry, ttl_s=0.01)
    await status("a.myshopify.com")
    await asyncio.sleep(0.02)
    await status("a.myshopify.com")
    assert registry.reads == 2
    status.remember("a.myshopify.com", "uninstalled")
    assert await status("a.myshopify.com") == "uninstalled" and registry.reads == 2
    status.forget("a.myshopify.com")
    assert await status("a.myshopify.com") == INSTALLED and registry.reads == 3


async def test_a_failed_read_fails_every_waiter_and_is_not_cached() -> None:
    registry = SlowRegistry(fail=True)
    status = cached(registry)
    results = await asyncio.gather(*(status("a.myshopify.com") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, RedisConnectionError) for r in results) and registry.reads == 1
    registry.fail = False
    assert await status("a.myshopify.com") == INSTALLED and registry.reads == 2


async def test_the_oldest_answer_goes_when_full() -> None:
    registry = SlowRegistry()
    status = cached(registry, maxsize=2)
    for shop in ("a1.myshopify.com", "a2.myshopify.com", "a3.myshopify.com"):
        await status(shop)
    await status("a3.myshopify.com")
    await status("a1.myshopify.com")
    assert registry.reads == 4  # a1 was evicted, a3 was still there
