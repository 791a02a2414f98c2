"""Reading a VIP-status file from another loyalty app: CSV or JSON Lines, one row per customer.

The file must be UTF-8 (a byte-order mark is fine) and start with a header (CSV) or hold JSON
objects (JSON Lines). Its columns are mapped to what StorePulse needs, `customer_id` or `email`,
`tier`, and optionally `expires_on`: by the merchant's mapping where given, else by the usual
names loyalty apps export. A file that cannot be read at all raises `ImportFileError` saying
why, before anything is changed; a line that cannot be read is one rejected row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

MAX_BYTES = 20 * 1024 * 1024
FIELDS = ("customer_id", "email", "tier", "expires_on")
# Column names other apps' exports use for each field (compared lower-cased, `_` and `-` as spaces).
ALIASES: dict[str, frozenset[str]] = {
    "customer_id": frozenset({"customer id", "customerid", "shopify customer id", "shopify id", "id"}),
    "email": frozenset({"email", "e mail", "email address", "customer email"}),
    "tier": frozenset({"tier", "vip tier", "tier name", "vip level", "level", "loyalty tier"}),
    "expires_on": frozenset(
        {"expires on", "expires", "expiry", "expiry date", "expiration", "expiration date", "valid until"}
    ),
}
UNREADABLE = "unreadable line"

Format = Literal["csv", "jsonl"]


class ImportFileError(Exception):
    """The file cannot be imported at all (the message says why and what to do)."""


@dataclass(frozen=True)
class Row:
    """A row of the file (`number`: 1 is the CSV header, so the first data row is 2; a JSON
    Lines file's rows are its lines): its values by field, or why it could not be read."""

    number: int
    values: Mapping[str, str]
    error: str | None = None


@dataclass(frozen=True)
class ImportFile:
    format: Format
    columns: tuple[str, ...]
    mapping: Mapping[str, str]  # field -> the file's column
    rows: Iterator[Row]


def _normal(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"the file is not UTF-8 text (byte {exc.start + 1} is not): export it again as "
            "“CSV UTF-8”, or save it with UTF-8 encoding"
        ) from None


def map_columns(columns: tuple[str, ...], given: Mapping[str, str]) -> dict[str, str]:
    """Which column holds each field: as `given` (field -> column), else by the usual names."""
    by_name = {_normal(c): c for c in columns}
    mapping: dict[str, str] = {}
    for name in FIELDS:
        wanted = given.get(name)
        if wanted:
            if _normal(wanted) not in by_name:
                raise ImportFileError(
                    f"the file has no column {wanted!r} for {name}; its columns: {list(columns)}"
                )
            mapping[name] = by_name[_normal(wanted)]
        else:
            found = next((c for n, c in by_name.items() if n == _normal(name) or n in ALIASES[name]), None)
            if found is not None:
                mapping[name] = found
    if "tier" not in mapping or not ({"customer_id", "email"} & set(mapping)):
        raise ImportFileError(
            f"no recognisable header: the columns {list(columns)} hold no customer_id or email and "
            "tier; name the columns that do (the mapping: customer_id or email, tier, expires_on)"
        )
    return mapping


def read(data: bytes, given: Mapping[str, str]) -> ImportFile:
    """The file's rows, mapped; raises `ImportFileError` for a file that cannot be imported."""
    text = decode(data)
    start = text.lstrip()
    if not start:
        raise ImportFileError("the file is empty")
    if start.startswith("{"):
        return _json_lines(text, given)
    return _csv(text, given)


def _csv(text: str, given: Mapping[str, str]) -> ImportFile:
    reader = csv.reader(io.StringIO(text))
    try:
        header = tuple(next(reader))
    except (StopIteration, csv.Error) as exc:
        raise ImportFileError(f"no recognisable header: {exc}") from None
    mapping = map_columns(header, given)
    index = {name: header.index(column) for name, column in mapping.items()}

    def rows() -> Iterator[Row]:
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield Row(number, {}, UNREADABLE)
                continue
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) != len(header):
                yield Row(number, {}, UNREADABLE)
                continue
            yield Row(number, {name: cells[i].strip() for name, i in index.items()})

    return ImportFile("csv", header, mapping, rows())


def _json_lines(text: str, given: Mapping[str, str]) -> ImportFile:
    lines = text.splitlines()
    try:
        first = orjson.loads(next(line for line in lines if line.strip()))
    except orjson.JSONDecodeError:
        first = None
    if not isinstance(first, dict):
        raise ImportFileError("no recognisable header: the first line is not a JSON object")
    columns = tuple(str(k) for k in first)
    mapping = map_columns(columns, given)

    def rows() -> Iterator[Row]:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                yield Row(number, {}, UNREADABLE)
                continue
            values = {name: record.get(column) for name, column in mapping.items()}
            yield Row(number, {k: "" if v is None else str(v).strip() for k, v in values.items()})

    return ImportFile("jsonl", columns, mapping, rows())
