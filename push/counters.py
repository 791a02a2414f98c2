"""The sold counter of a product page's theme block: `GET /counters/{shop}/{product_id}`.

Public and cacheable (storefronts and CDNs may keep it 30 s), so it says nothing but the count of
the product's orders in the last 24 hours, from the `sold` set streams/agents/trends.py keeps.
"""

from __future__ import annotations

import re
import time

import redis.asyncio as redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from push.admission import InstalledShops
from storepulse import redis_keys
from streams.domain.windows import PURCHASE_WINDOW_S

CACHE_S = 30
# Shopify product ids are positive integers (the numeric tail of a gid).
_PRODUCT_ID = re.compile(r"[1-9][0-9]{0,19}")


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


class SoldCounter:
    def __init__(self, client: redis.Redis, installed: InstalledShops) -> None:
        self._redis = client
        self._installed = installed

    async def answer(self, request: Request) -> Response:
        shop = request.path_params["shop"].lower()
        product_id = request.path_params["product_id"]
        if not _PRODUCT_ID.fullmatch(product_id):
            return _error(400, "product_id must be a Shopify product id (digits)")
        try:
            installed = await self._installed(shop)
            if installed:
                cutoff = time.time() - PURCHASE_WINDOW_S
                sold = await self._redis.zcount(redis_keys.sold(shop, product_id), cutoff, "+inf")
        except (redis.RedisError, OSError):
            return _error(503, "counter unavailable")
        if not installed:
            return _error(404, "unknown shop")
        return JSONResponse({"sold_24h": sold}, headers={"Cache-Control": f"public, max-age={CACHE_S}"})
