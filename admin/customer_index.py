"""Every customer of a shop as columns in memory, so any sort and filter over 100,000 of them takes
milliseconds (docs/merchant-app.md, "How the customer list stays fast").

The worker keeps each customer's row in `customers:{shop}` and gives every change a shop-wide
version in `customer-versions:{shop}` (streams/agents/read_models.py). An index loads the rows
once, then on each use fetches only the rows whose version is newer than the last it saw, in one
atomic Redis step that also reports how many rows exist. A redacted customer's row goes without
a trace, so when that count is below the index's, the index drops the ids Redis no longer
holds; when the versions went backwards (the shop's keys were deleted) it loads afresh.

Redis could sort one field by itself (a sorted set per field), but filtering by tier, segment,
date and order count at once needs intersections of sets of up to 100,000 members per request,
measured at 170-260 ms; numpy masks and a sort over columns take a few ms. The index holds ids
and numbers only (no names, which StorePulse never stores); rows for a page are read from Redis.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import redis.asyncio as redis
import structlog

from storepulse import redis_keys
from streams.domain.standing import read_row

log = structlog.get_logger(__name__)

# Columns the list sorts on, and the overview and VIP preview read.
NUMERIC = ("net_spent", "total_spent", "orders_count", "last_order_at", "first_order_at")
CODED = ("tier", "segment", "currency")
NO_DATE = np.iinfo(np.int64).min  # a customer without a counted order sorts before every date
CATCH_UP_STEP = 20_000

# KEYS: customers hash, versions. ARGV: last version seen, how many at most. Returns the changed
# ids with their versions (and `~`, which holds the newest), their rows, how many rows exist and
# the newest version.
_CHANGES = """
local changed = redis.call(
  'ZRANGE', KEYS[2], '(' .. ARGV[1], '+inf', 'BYSCORE', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local rows = {}
for i = 1, #changed, 2 do rows[#rows + 1] = redis.call('HGET', KEYS[1], changed[i]) or false end
return {changed, rows, redis.call('HLEN', KEYS[1]), redis.call('ZSCORE', KEYS[2], '~') or '0'}
"""


def cents(amount: Any) -> int:
    """A money string as whole cents (sorting and sums; shown amounts come from the rows)."""
    return int((Decimal(str(amount or 0)) * 100).to_integral_value())


def epoch(value: int | None) -> int:
    return int(NO_DATE) if value is None else value


class Codes:
    """Small integers for a column of names (tiers, segments); 0 is "none"."""

    def __init__(self) -> None:
        self.names: list[str | None] = [None]
        self._codes: dict[str | None, int] = {None: 0}

    def code(self, name: str | None) -> int:
        if name not in self._codes:
            self._codes[name] = len(self.names)
            self.names.append(name)
        return self._codes[name]

    def known(self, name: str) -> int | None:
        return self._codes.get(name)


class ShopIndex:
    """One shop's customers: `ids` and a numeric column per field, the first `size` entries valid."""

    def __init__(self) -> None:
        self.version = 0
        self.size = 0
        self.tiers = Codes()
        self.segments = Codes()
        self.currencies = Codes()
        self._ids = np.zeros(0, np.int64)
        self._columns = {name: np.zeros(0, np.int64) for name in (*NUMERIC, *CODED)}
        self._position: dict[int, int] = {}

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self.size]

    def column(self, name: str) -> np.ndarray:
        return self._columns[name][: self.size]

    def counts(self, name: str) -> dict[str, int]:
        """Customers per value of a coded column (`tier`, `segment`, `currency`), none left out."""
        codes = {"tier": self.tiers, "segment": self.segments, "currency": self.currencies}[name]
        tally = np.bincount(self.column(name), minlength=len(codes.names))
        return {n: int(c) for n, c in zip(codes.names, tally, strict=True) if n is not None and c}

    def tier_of(self, at: int) -> str | None:
        return self.tiers.names[int(self._columns["tier"][at])]

    def put(self, customer_id: int, row: dict[str, Any]) -> None:
        at = self._position.get(customer_id)
        if at is None:
            at = self._append(customer_id)
        values = {
            "net_spent": cents(row.get("net_spent")),
            "total_spent": cents(row.get("total_spent")),
            "orders_count": int(row.get("orders_count") or 0),
            "last_order_at": epoch(row.get("last_order_at")),
            "first_order_at": epoch(row.get("first_order_at")),
            "tier": self.tiers.code(row.get("tier")),
            "segment": self.segments.code(row.get("segment")),
            "currency": self.currencies.code(row.get("currency")),
        }
        for name, value in values.items():
            self._columns[name][at] = value

    def remove(self, customer_id: int) -> None:
        """The last entry takes the removed one's place."""
        at = self._position.pop(customer_id, None)
        if at is None:
            return
        last = self.size - 1
        if at != last:
            moved = int(self._ids[last])
            self._ids[at] = moved
            for column in self._columns.values():
                column[at] = column[last]
            self._position[moved] = at
        self.size = last

    def _append(self, customer_id: int) -> int:
        if self.size == len(self._ids):
            capacity = max(1024, 2 * self.size)
            self._ids = np.resize(self._ids, capacity)
            self._columns = {name: np.resize(column, capacity) for name, column in self._columns.items()}
        at = self.size
        self._ids[at] = customer_id
        self._position[customer_id] = at
        self.size += 1
        return at


@dataclass(frozen=True)
class Filters:
    """What the customer list may filter on; None = any."""

    tier: str | None = None
    segment: str | None = None
    last_order_from: datetime | None = None  # inclusive
    last_order_before: datetime | None = None  # exclusive
    min_orders: int | None = None
    among: frozenset[int] | None = None  # only these ids (a search's matches)


def matching(index: ShopIndex, filters: Filters) -> np.ndarray:
    """The positions of the customers that pass every filter."""
    mask = np.ones(index.size, bool)
    for codes, column, name in (
        (index.tiers, "tier", filters.tier),
        (index.segments, "segment", filters.segment),
    ):
        if name is not None:
            code = codes.known(name)
            mask &= index.column(column) == (code if code is not None else -1)
    last = index.column("last_order_at")
    if filters.last_order_from is not None:
        mask &= last >= int(filters.last_order_from.timestamp())
    if filters.last_order_before is not None:
        mask &= (last < int(filters.last_order_before.timestamp())) & (last != NO_DATE)
    if filters.min_orders is not None:
        mask &= index.column("orders_count") >= filters.min_orders
    if filters.among is not None:
        mask &= np.isin(index.ids, np.fromiter(filters.among, np.int64, len(filters.among)))
    return np.flatnonzero(mask)


def ordered(index: ShopIndex, filters: Filters, sort: str, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """(ids, sort scores) of the matching customers in list order: by the sort field, ties by id."""
    at = matching(index, filters)
    ids, scores = index.ids[at], index.column(sort)[at]
    order = np.lexsort((ids, scores))
    if descending:
        order = order[::-1]
    return ids[order], scores[order]


class CustomerIndexes:
    """The shops' indexes in this process, loaded on first use and evicted least recently used
    once they hold more than `max_rows` customers together."""

    def __init__(self, client: redis.Redis, max_rows: int = 1_000_000) -> None:
        self._client = client
        self._max_rows = max_rows
        self._changes = client.register_script(_CHANGES)
        self._indexes: OrderedDict[str, ShopIndex] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, shop: str) -> ShopIndex:
        """The shop's index, caught up with every change the worker wrote before this call."""
        lock = self._locks.setdefault(shop, asyncio.Lock())
        async with lock:
            index = self._indexes.get(shop)
            if index is None or not await self._catch_up(shop, index):
                index = await self._load(shop)
            self._indexes[shop] = index
            self._indexes.move_to_end(shop)
            self._evict(keep=shop)
            return index

    async def _load(self, shop: str) -> ShopIndex:
        index = ShopIndex()
        # The newest version first: anything written during the scan is newer and caught up after.
        newest = await self._client.zscore(redis_keys.customer_versions(shop), "~")
        index.version = int(newest or 0)
        async for customer_id, row in self._client.hscan_iter(redis_keys.customers(shop), count=5000):
            _apply(index, [(customer_id, row)])
        if not await self._catch_up(shop, index):
            log.warning("customer_index_unsettled", shop=shop)
        log.info("customer_index_loaded", shop=shop, customers=index.size)
        return index

    async def _catch_up(self, shop: str, index: ShopIndex) -> bool:
        """Apply the changes since `index.version`; False when only a fresh load can be right."""
        keys = [redis_keys.customers(shop), redis_keys.customer_versions(shop)]
        while True:
            changed, rows, count, newest = await self._changes(keys=keys, args=[index.version, CATCH_UP_STEP])
            if int(newest) < index.version:
                return False
            _apply(index, zip(changed[::2], rows, strict=True))
            if changed:
                index.version = int(changed[-1])
            if len(changed) < 2 * CATCH_UP_STEP:
                if index.size > int(count):
                    await self._drop_removed(shop, index)
                return True

    async def _drop_removed(self, shop: str, index: ShopIndex) -> None:
        """Forget the customers whose rows went (redacted); rows added meanwhile come by version."""
        held = [
            int(c)
            async for c in self._client.hscan_iter(redis_keys.customers(shop), count=10_000, no_values=True)
            if c.isdigit()
        ]
        gone = index.ids[~np.isin(index.ids, np.asarray(held, np.int64))]
        for customer_id in gone.tolist():
            index.remove(customer_id)

    def _evict(self, keep: str) -> None:
        while sum(i.size for i in self._indexes.values()) > self._max_rows and len(self._indexes) > 1:
            oldest = next(iter(self._indexes))
            if oldest == keep:
                break
            del self._indexes[oldest]


def _apply(index: ShopIndex, changes: Iterable[tuple[bytes, bytes | None]]) -> None:
    for raw_id, row in changes:
        try:
            customer_id = int(raw_id)
        except ValueError:  # Shopify's customer ids are numbers; anything else is not a customer
            continue
        if row:
            index.put(customer_id, read_row(orjson.loads(row)))
        else:
            index.remove(customer_id)
