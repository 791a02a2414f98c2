"""The Redis read models the lookups API and the merchant's app read.

`vips`, `segments`, `tier-floors`, `data-requests`; every customer's list row (`customers`, with the change
sequence `customer-versions` that lets the app's in-memory index catch up), and each customer's
tier history. Written after each batch for every customer it touched, also on re-deliveries, so
a crash between the table write and Redis heals on replay.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import Any

import orjson
import redis.asyncio as redis
from redis.typing import EncodableT, FieldT

from storepulse import redis_keys
from streams.domain.customer_state import CustomerState
from streams.domain.standing import TierChange, list_row, read_model
from streams.runtime.metrics import SYNC_ORDERS_APPLIED

# A customer's state after the batch; None: the customer is gone (redacted).
Touched = dict[bytes, CustomerState | None]
# Hash fields to set, typed as redis-py's HSET takes them.
Fields = dict[FieldT, EncodableT]
# (shop, hash field, record) of each data request the batch answered.
DataRequests = list[tuple[str, str, dict[str, Any]]]
# Tier changes a customer's history keeps (the newest first).
HISTORY_LENGTH = 50
# A sync run's applied orders are kept past the next week's runs, then go.
SYNC_APPLIED_TTL_S = 8 * 86400

# KEYS: customers hash, versions sorted set. ARGV: id, row, id, row, … ('' = the row goes).
# A row that really changed gets the next shop-wide version, so a re-delivered batch, which
# writes the same rows again, gives readers nothing new to fetch. A row that goes leaves no
# trace naming the customer (readers notice the count drop); the member `~`, never a customer
# id, holds the newest version, so versions only grow. One step, so a reader that sees a
# version also sees the row it stands for.
_ROWS = """
local version = tonumber(redis.call('ZSCORE', KEYS[2], '~')) or 0
local start = version
for i = 1, #ARGV, 2 do
  local id, row = ARGV[i], ARGV[i + 1]
  local held = redis.call('HGET', KEYS[1], id)
  if row == '' then
    if held then
      redis.call('HDEL', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
    end
  elseif held ~= row then
    redis.call('HSET', KEYS[1], id, row)
    version = version + 1
    redis.call('ZADD', KEYS[2], version, id)
  end
end
if version > start then redis.call('ZADD', KEYS[2], version, '~') end
return version
"""


class ReadModels:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._rows = client.register_script(_ROWS)

    async def sync_applied(self, applied: dict[tuple[str, str], set[str]]) -> None:
        """Add the orders each sync run changed to that run's set (a set: a replayed batch adds none)."""
        async with self._client.pipeline(transaction=False) as pipe:
            for (shop, run), order_ids in applied.items():
                key = redis_keys.sync_applied(shop, run)
                pipe.sadd(key, *order_ids)
                pipe.expire(key, SYNC_APPLIED_TTL_S)
            added = await pipe.execute()
        SYNC_ORDERS_APPLIED.inc(sum(added[::2]))  # SADD answers how many were new

    async def write(
        self, touched: Touched, data_requests: DataRequests, tier_changes: list[TierChange]
    ) -> None:
        """One pipeline: each touched customer's row, tier and segment, each tier change's
        history entry, each data request's record."""
        if not (touched or data_requests or tier_changes):
            return
        by_shop: dict[str, list[tuple[str, CustomerState | None]]] = defaultdict(list)
        for key, state in touched.items():
            shop, customer_id = key.decode().split("/", 1)
            by_shop[shop].append((customer_id, state))
        async with self._client.pipeline(transaction=False) as pipe:
            # History first: a customer redacted later in the batch loses it below.
            for change in tier_changes:
                history = redis_keys.customer_history(change.shop, change.customer_id)
                entry = orjson.dumps(change.history_entry()).decode()
                pipe.lrem(history, 0, entry)  # a repeated step (redis_step) keeps one copy
                pipe.lpush(history, entry)
                pipe.ltrim(history, 0, HISTORY_LENGTH - 1)
            for shop, customers in by_shop.items():
                _tiers_and_segments(pipe, shop, customers)
                rows = [(c, orjson.dumps(list_row(s)) if s else b"") for c, s in customers]
                await self._rows(
                    keys=[redis_keys.customers(shop), redis_keys.customer_versions(shop)],
                    args=[part for row in rows for part in row],
                    client=pipe,
                )
            for shop, field_name, record in data_requests:
                # NX: a replayed request must not overwrite the mark that it was answered.
                pipe.hsetnx(redis_keys.data_requests(shop), field_name, orjson.dumps(record))
            await pipe.execute()


def _tiers_and_segments(pipe: Any, shop: str, customers: list[tuple[str, CustomerState | None]]) -> None:
    vips: Fields = {c: orjson.dumps(read_model(s)) for c, s in customers if s and s.tier}
    not_vip = [c for c, s in customers if not (s and s.tier)]
    segments: Fields = {c: s.segment for c, s in customers if s and s.segment}
    floors: Fields = {c: orjson.dumps(asdict(s.tier_floor)) for c, s in customers if s and s.tier_floor}
    no_floor = [c for c, s in customers if not (s and s.tier_floor)]
    gone = [c for c, s in customers if s is None]
    if vips:
        pipe.hset(redis_keys.vips(shop), mapping=vips)
    if not_vip:
        pipe.hdel(redis_keys.vips(shop), *not_vip)
    if segments:
        pipe.hset(redis_keys.segments(shop), mapping=segments)
    if floors:
        pipe.hset(redis_keys.tier_floors(shop), mapping=floors)
    if no_floor:
        pipe.hdel(redis_keys.tier_floors(shop), *no_floor)
    if gone:
        pipe.hdel(redis_keys.segments(shop), *gone)
        pipe.hdel(redis_keys.customer_tags(shop), *gone)
        pipe.delete(*(redis_keys.customer_history(shop, c) for c in gone))
