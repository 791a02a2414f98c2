"""The Redis read models the lookups API and the merchant read: `vips`, `segments`, `data-requests`.

Written after each batch for every customer it touched, also on re-deliveries, so a crash between
the table write and Redis heals on replay.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import redis.asyncio as redis
from redis.typing import EncodableT, FieldT

from storepulse import redis_keys
from streams.domain.customer_state import CustomerState
from streams.domain.standing import read_model

# A customer's state after the batch; None: the customer is gone (redacted).
Touched = dict[bytes, CustomerState | None]
# Hash fields to set, typed as redis-py's HSET takes them.
Fields = dict[FieldT, EncodableT]
# (shop, hash field, record) of each data request the batch answered.
DataRequests = list[tuple[str, str, dict[str, Any]]]


async def write_read_models(client: redis.Redis, touched: Touched, data_requests: DataRequests) -> None:
    """One pipeline: each touched customer's tier and segment, each data request's record."""
    if not (touched or data_requests):
        return
    by_shop: dict[str, list[tuple[str, CustomerState | None]]] = defaultdict(list)
    for key, state in touched.items():
        shop, customer_id = key.decode().split("/", 1)
        by_shop[shop].append((customer_id, state))
    async with client.pipeline(transaction=False) as pipe:
        for shop, customers in by_shop.items():
            vips: dict[FieldT, EncodableT] = {
                c: orjson.dumps(read_model(s)) for c, s in customers if s and s.tier
            }
            not_vip = [c for c, s in customers if not (s and s.tier)]
            segments: Fields = {c: s.segment for c, s in customers if s and s.segment}
            gone = [c for c, s in customers if s is None]
            if vips:
                pipe.hset(redis_keys.vips(shop), mapping=vips)
            if not_vip:
                pipe.hdel(redis_keys.vips(shop), *not_vip)
            if segments:
                pipe.hset(redis_keys.segments(shop), mapping=segments)
            if gone:
                pipe.hdel(redis_keys.segments(shop), *gone)
        for shop, field_name, record in data_requests:
            # NX: a replayed request must not overwrite the mark that it was answered.
            pipe.hsetnx(redis_keys.data_requests(shop), field_name, orjson.dumps(record))
        await pipe.execute()
