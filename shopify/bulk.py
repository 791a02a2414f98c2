"""Bulk operations: a query Shopify runs in the background, its result one JSONL file.

`start` submits the query (`bulkOperationRunQuery`), `finished` polls the operation
(`node(id:)`) with a growing pause until it stops running, `download` streams its result file
and `stitched` reads the file's objects back into trees. Shopify runs one bulk query per app and
shop at a time. What a caller does with the objects (and how it resumes) is the caller's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

import httpx
import orjson
import structlog
from tenacity import AsyncRetrying, retry_if_result, wait_exponential

from shopify.admin import AdminApi, AdminApiError, Retryable

log = structlog.get_logger(__name__)

RUN_MUTATION = """
mutation BulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""
STATUS_QUERY = """
query BulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url } }
}
"""
UNFINISHED = frozenset({"CREATED", "RUNNING", "CANCELING"})


class BulkOperationError(AdminApiError):
    """A bulk operation that could not start or did not complete; the message says why."""


async def start(api: AdminApi, shop: str, query: str) -> dict[str, Any]:
    """A new bulk operation running `query` for `shop`: `{id, status}`."""
    answer = (await api.query(shop, RUN_MUTATION, {"query": query}, cost=10.0))["bulkOperationRunQuery"]
    errors = answer.get("userErrors") or []
    if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
        raise BulkOperationError(
            "another bulk query operation is already running for this shop (Shopify runs one "
            "per app and shop); wait for it to finish or cancel it (bulkOperationCancel), then "
            "try again"
        )
    if errors or not answer.get("bulkOperation"):
        reasons = "; ".join(str(e.get("message")) for e in errors) or "no operation returned"
        raise BulkOperationError(f"Shopify refused the bulk operation: {reasons}")
    operation: dict[str, Any] = answer["bulkOperation"]
    log.info("bulk_operation_started", shop=shop, operation=operation["id"])
    return operation


async def status(api: AdminApi, shop: str, operation_id: str) -> dict[str, Any] | None:
    """The operation's `{id, status, errorCode, objectCount, url}`, None once Shopify forgot it."""
    return (await api.query(shop, STATUS_QUERY, {"id": operation_id}, cost=1.0)).get("node")


async def finished(
    api: AdminApi,
    shop: str,
    operation: dict[str, Any],
    poll_s: float,
    on_poll: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """The operation once it stopped running; polled after `poll_s`, doubling up to 30 times that."""

    async def poll() -> dict[str, Any]:
        current = await status(api, shop, operation["id"])
        if current is None:
            raise BulkOperationError(f"bulk operation {operation['id']} no longer exists; run again")
        on_poll(current)
        return current

    if operation["status"] not in UNFINISHED:
        return operation
    waiting = AsyncRetrying(
        retry=retry_if_result(lambda op: op["status"] in UNFINISHED),
        wait=wait_exponential(multiplier=poll_s, max=30 * poll_s),
    )  # no stop: a big shop's export can take hours, and an interrupted run polls the same one again
    return await waiting(poll)


async def download(api: AdminApi, url: str, into: IO[bytes]) -> int:
    """Stream an operation's result file into `into`; its size in bytes.

    The URL is pre-signed storage, not the Admin API: it gets no access token (and is never
    logged). A broken transfer starts over from the first byte, with the client's retry policy.
    """
    async for attempt in api.retrying():
        with attempt:
            into.seek(0)
            into.truncate()
            try:
                async with api.http.stream("GET", url) as answer:
                    if answer.status_code >= 500 or answer.status_code == 429:
                        raise Retryable(f"HTTP {answer.status_code}")
                    if answer.status_code != 200:
                        raise AdminApiError(f"bulk result download: HTTP {answer.status_code}")
                    async for chunk in answer.aiter_bytes():
                        into.write(chunk)
            except httpx.TransportError as exc:
                raise Retryable(type(exc).__name__) from exc
            into.flush()
            return into.tell()
    raise AssertionError("unreachable: tenacity reraises the last failure")


def lines_of(file: IO[bytes]) -> Callable[[], Iterator[bytes]]:
    """What `stitched` reads: the file's lines from the start, each time it is called."""

    def read() -> Iterator[bytes]:
        file.seek(0)
        yield from file

    return read


def stitched(
    lines: Callable[[], Iterable[bytes]], child_fields: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    """The root objects of a bulk JSONL file in file order, each with its children put back.

    A child is a line whose `__parentId` names its parent; it joins the parent's list field
    `child_fields[its GID type]`. Shopify promises no child order unless objects are grouped, so a
    first pass over `lines()` collects the children (few) and a second yields the roots: the n-th
    object yielded is always the file's n-th root line, which is what a resumed reader counts on.
    """
    children: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines():
        if b"__parentId" in line:  # skips parsing most root lines twice
            child = orjson.loads(line)
            if parent := child.pop("__parentId", None):
                children[parent].append(child)
    for line in lines():
        if not line.strip():
            continue
        root = orjson.loads(line)
        if "__parentId" not in root:
            yield _adopt(root, children, child_fields)


def _adopt(
    parent: dict[str, Any], children: dict[str, list[dict[str, Any]]], child_fields: Mapping[str, str]
) -> dict[str, Any]:
    for child in children.pop(parent["id"], ()):
        kind = child["id"].split("/")[-2]  # gid://shopify/Refund/9 → Refund
        if kind not in child_fields:
            raise ValueError(f"bulk JSONL: unexpected child object of type {kind}")
        parent.setdefault(child_fields[kind], []).append(_adopt(child, children, child_fields))
    return parent
