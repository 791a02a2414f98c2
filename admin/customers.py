"""The customer list: sorted, filtered, paginated by cursor, exported, with names from Shopify.

A walk through the list (its first page, then each `next` cursor) sees one frozen order: the
first page stores the order of every matching customer as packed (id, score) pairs under
`customer-walk:{shop}:{walk}` for `WALK_TTL_S` after the last page read, and later pages are
slices of it. So customers whose spend changes while someone pages never jump a page boundary
(no row skipped or repeated); the rows' figures are read fresh for each page. If a walk expires,
its cursor still carries the last row's (score, id) and the walk continues after that position
in a fresh order (keyset pagination).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import orjson
import redis.asyncio as redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from admin.customer_index import CustomerIndexes, Filters, ordered
from admin.names import CustomerNames
from admin.params import BadParameters, DateOrTime
from storepulse import redis_keys
from streams.domain.rfm import SEGMENT_NAMES
from streams.domain.standing import ROW_FIELDS, read_row

WALK_TTL_S = 600
EXPORT_CHUNK = 500
ENTRY = np.dtype([("id", "<i8"), ("score", "<i8")])
# One row of the list, in this order (the CSV's columns too): the worker's row but for what only
# the customer's own page shows.
COLUMNS = ("customer_id", "name", *(f for f in ROW_FIELDS if f not in ("rfm", "first_order_at")))
MONEY = ("total_spent", "net_spent", "average_order_value")

Sort = Literal["net_spent", "total_spent", "orders_count", "last_order_at"]
Segment = Literal[SEGMENT_NAMES]  # type: ignore[valid-type]


class Selection(BaseModel):
    """Which customers, in which order (the list's and the exports' query parameters)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sort: Sort = "net_spent"
    order: Literal["asc", "desc"] = "desc"
    tier: str | None = Field(None, max_length=100)
    segment: Segment | None = None
    q: str | None = Field(None, max_length=200)
    last_order_from: DateOrTime | None = None
    last_order_to: DateOrTime | None = None
    min_orders: int | None = Field(None, ge=0)


class PageParameters(Selection):
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=250)


def _instant(value: date | datetime | None, *, end_of_day: bool) -> datetime | None:
    """A date means the whole UTC day (`to` includes it); a datetime is that instant."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime.combine(value, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end_of_day else start


def money(value: Any) -> str:
    """A decimal string to the cent ("0" → "0.00")."""
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))


def iso(epoch_s: int | None) -> str | None:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat() if epoch_s is not None else None


def entry(customer_id: str, row: dict[str, Any], name: str | None) -> dict[str, Any]:
    """One customer as the list (and its exports) show it."""
    shown: dict[str, Any] = {"customer_id": customer_id, "name": name, **{c: row.get(c) for c in COLUMNS[2:]}}
    for column in MONEY:
        shown[column] = money(shown[column])
    shown["last_order_at"] = iso(shown["last_order_at"])
    return shown


def _fingerprint(selection: Selection) -> str:
    return hashlib.sha256(selection.model_dump_json().encode()).hexdigest()[:16]


def _cursor(walk: str, offset: int, score: int, customer_id: int) -> str:
    raw = orjson.dumps({"w": walk, "o": offset, "s": score, "i": customer_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Cursor(BaseModel):
    w: str = Field(max_length=64)
    o: int = Field(ge=0)
    s: int
    i: int


def _read_cursor(cursor: str, fingerprint: str) -> Cursor:
    try:
        parsed = Cursor.model_validate_json(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, ValidationError) as exc:
        raise BadParameters({"cursor": "not a cursor of this list"}) from exc
    if not parsed.w.startswith(f"{fingerprint}-"):
        raise BadParameters({"cursor": "belongs to another sort or filter: start again without it"})
    return parsed


def _after(ids: np.ndarray, scores: np.ndarray, score: int, customer_id: int, descending: bool) -> int:
    """Where the list continues after the row (score, id) in the order `ids`/`scores`."""
    if descending:
        beyond = (scores < score) | ((scores == score) & (ids < customer_id))
    else:
        beyond = (scores > score) | ((scores == score) & (ids > customer_id))
    return int(np.argmax(beyond)) if beyond.any() else len(ids)


class CustomerList:
    def __init__(self, client: redis.Redis, indexes: CustomerIndexes, names: CustomerNames) -> None:
        self._client = client
        self._indexes = indexes
        self._names = names

    async def page(self, shop: str, params: PageParameters) -> dict[str, Any]:
        """`{"customers": [...], "total": n, "next": cursor or None}`."""
        selection = Selection.model_validate(params.model_dump(exclude={"cursor", "limit"}))
        fingerprint = _fingerprint(selection)
        cursor = _read_cursor(params.cursor, fingerprint) if params.cursor else None
        found = await self._walk_slice(shop, cursor.w, cursor.o, params.limit) if cursor else None
        if cursor and found:
            walk, offset, (entries, total) = cursor.w, cursor.o, found
        else:  # a first page, or a walk that expired: order the list now
            ids, scores, version = await self._order(shop, selection)
            walk = f"{fingerprint}-{version}"
            offset = _after(ids, scores, cursor.s, cursor.i, params.order == "desc") if cursor else 0
            entries, total = await self._store_walk(shop, walk, ids, scores, offset, params.limit)
        rows = await self._rows(shop, [str(i) for i in entries["id"]])
        names = await self._names.names(shop, rows)
        end = offset + len(entries)
        more = len(entries) and end < total
        return {
            "customers": [entry(c, row, names.get(c)) for c, row in rows.items()],
            "total": total,
            "next": _cursor(walk, end, int(entries[-1]["score"]), int(entries[-1]["id"])) if more else None,
        }

    async def export(
        self, shop: str, selection: Selection, kind: Literal["csv", "jsonl"]
    ) -> AsyncIterator[bytes]:
        """Every matching customer, `EXPORT_CHUNK` rows at a time (names only when the shop
        granted them); memory stays flat whatever the number of customers."""
        ids, _, _ = await self._order(shop, selection)
        with_names = await self._names.granted(shop)
        if kind == "csv":
            yield _csv_lines([COLUMNS])
        for start in range(0, len(ids), EXPORT_CHUNK):
            rows = await self._rows(shop, [str(i) for i in ids[start : start + EXPORT_CHUNK]])
            names = await self._names.names(shop, rows) if with_names else {}
            shown = [entry(c, row, names.get(c)) for c, row in rows.items()]
            if kind == "csv":
                yield _csv_lines([[e[c] if e[c] is not None else "" for c in COLUMNS] for e in shown])
            else:
                yield b"".join(orjson.dumps(e) + b"\n" for e in shown)

    async def filters(self, shop: str, selection: Selection) -> Filters:
        """The selection's filters; a search (`q`) becomes the ids Shopify finds."""
        among = None
        if selection.q:
            among = frozenset(int(i) for i in await self._names.search(shop, selection.q) if i.isdigit())
        frm = _instant(selection.last_order_from, end_of_day=False)
        before = _instant(selection.last_order_to, end_of_day=True)
        if frm and before and frm >= before:
            raise BadParameters({"last_order_to": "must not be before last_order_from"})
        return Filters(selection.tier, selection.segment, frm, before, selection.min_orders, among)

    async def _order(self, shop: str, selection: Selection) -> tuple[np.ndarray, np.ndarray, int]:
        """(ids, scores) in list order, and the index version they are of."""
        filters = await self.filters(shop, selection)
        index = await self._indexes.get(shop)
        ids, scores = ordered(index, filters, selection.sort, selection.order == "desc")
        return ids, scores, index.version

    async def _store_walk(
        self, shop: str, walk: str, ids: np.ndarray, scores: np.ndarray, offset: int, limit: int
    ) -> tuple[np.ndarray, int]:
        packed = np.empty(len(ids), ENTRY)
        packed["id"], packed["score"] = ids, scores
        if offset + limit < len(ids):  # only a walk with more pages needs keeping
            await self._client.set(redis_keys.customer_walk(shop, walk), packed.tobytes(), ex=WALK_TTL_S)
        return packed[offset : offset + limit], len(ids)

    async def _walk_slice(
        self, shop: str, walk: str, offset: int, limit: int
    ) -> tuple[np.ndarray, int] | None:
        key = redis_keys.customer_walk(shop, walk)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.getrange(key, offset * ENTRY.itemsize, (offset + limit) * ENTRY.itemsize - 1)
            pipe.strlen(key)
            pipe.expire(key, WALK_TTL_S)
            raw, size, _ = await pipe.execute()
        if not size:
            return None
        return np.frombuffer(raw, ENTRY), size // ENTRY.itemsize

    async def _rows(self, shop: str, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The rows of these customers that still exist, in the given order."""
        if not customer_ids:
            return {}
        raw = await self._client.hmget(redis_keys.customers(shop), customer_ids)
        return {c: read_row(orjson.loads(r)) for c, r in zip(customer_ids, raw, strict=True) if r}


def _csv_lines(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()
