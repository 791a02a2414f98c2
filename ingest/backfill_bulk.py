"""The backfill of a large shop: one bulk operation instead of thousands of cost-paced pages.

`bulkOperationRunQuery` asks Shopify to write every order to a JSONL file; the run polls the
operation (`node(id:)`) with a growing pause until it ends, streams the file to a temporary file,
and produces its orders in file order, `batch` at a time, through the same `produce_order` as the
paginated path. After each batch the broker acknowledged, Redis (`backfill:{shop}`) holds the
operation id and how many of its orders are done: an interrupted run polls or re-downloads the
same operation and skips those; one whose operation failed or expired starts a new operation
(re-producing is harmless, the ledger dedups by order id and `updated_at`).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import IO, Any

import orjson
import redis.asyncio as redis
import structlog
from tenacity import AsyncRetrying, retry_if_result, wait_exponential
from tqdm import tqdm

from ingest.backfill_orders import ORDER_FIELDS, produce_order
from ingest.producer import DurableProducer
from storepulse.admin_api import AdminApi, AdminApiError

log = structlog.get_logger(__name__)

BULK_QUERY = f"{{ orders(sortKey: CREATED_AT) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }}"
RUN_MUTATION = """
mutation BackfillBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""
STATUS_QUERY = """
query BackfillBulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url } }
}
"""
UNFINISHED = {"CREATED", "RUNNING", "CANCELING"}
# What a failed operation's errorCode means for the person running the command.
FAILURE_HINTS = {
    "ACCESS_DENIED": "the app lacks an access scope the query needs (read_orders; read_all_orders "
    "for orders older than 60 days)",
    "INTERNAL_SERVER_ERROR": "Shopify failed while running it; run the backfill again to start a new one",
    "TIMEOUT": "Shopify gave up on it; run the backfill again to start a new one",
}
# The field a child object (a line with `__parentId`) belongs to in its parent, by GID type.
CHILD_FIELDS = {"Refund": "refunds"}


class BulkOperationError(AdminApiError):
    """A bulk operation that could not start or did not complete; the message says why."""


async def backfill_bulk(
    shop: str,
    api: AdminApi,
    producer: DurableProducer,
    client: redis.Redis,
    *,
    key: str,
    saved: dict[bytes, bytes],
    total: int,
    batch: int,
    poll_s: float,
    show_progress: bool,
) -> int:
    """Produce the shop's orders from a bulk operation, resuming the one in `saved`; how many now."""
    operation = None
    if saved.get(b"operation"):
        operation = await _status(api, shop, saved[b"operation"].decode())
    done = int(saved.get(b"done", 0))
    if operation is None or operation["status"] not in UNFINISHED | {"COMPLETED"}:
        if operation is not None:
            status = operation["status"]
            log.info("bulk_operation_replaced", shop=shop, operation=operation["id"], status=status)
        operation = await _start(api, shop)
        done = 0
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"operation": operation["id"], "done": 0})
            await pipe.execute()
    produced = 0
    with tqdm(total=total, initial=done, unit="order", desc=shop, disable=not show_progress) as bar:
        operation = await _finished(api, shop, operation, poll_s, bar)
        if operation["status"] != "COMPLETED":
            raise _failure(operation)
        bar.set_postfix_str("producing")
        with tempfile.TemporaryFile() as jsonl:
            if operation.get("url"):  # null when the operation found no orders
                await api.download(operation["url"], jsonl)
            orders = islice(stitched(lambda: _lines(jsonl)), done, None)
            while chunk := list(islice(orders, batch)):
                await asyncio.gather(*(produce_order(producer, shop, node) for node in chunk))
                produced += len(chunk)
                bar.update(len(chunk))
                await client.hset(key, "done", done + produced)
    await client.delete(key)
    return produced


async def _start(api: AdminApi, shop: str) -> dict[str, Any]:
    answer = (await api.query(shop, RUN_MUTATION, {"query": BULK_QUERY}, cost=10.0))["bulkOperationRunQuery"]
    errors = answer.get("userErrors") or []
    if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
        raise BulkOperationError(
            "another bulk query operation is already running for this shop (Shopify runs one "
            "per app and shop); wait for it to finish or cancel it (bulkOperationCancel), then run "
            "the backfill again"
        )
    if errors or not answer.get("bulkOperation"):
        reasons = "; ".join(str(e.get("message")) for e in errors) or "no operation returned"
        raise BulkOperationError(f"Shopify refused the bulk operation: {reasons}")
    log.info("bulk_operation_started", shop=shop, operation=answer["bulkOperation"]["id"])
    return answer["bulkOperation"]


async def _status(api: AdminApi, shop: str, operation_id: str) -> dict[str, Any] | None:
    return (await api.query(shop, STATUS_QUERY, {"id": operation_id}, cost=1.0)).get("node")


async def _finished(
    api: AdminApi, shop: str, operation: dict[str, Any], poll_s: float, bar: tqdm
) -> dict[str, Any]:
    """The operation once it stopped running; polled after `poll_s`, doubling up to 30 times that."""

    async def poll() -> dict[str, Any]:
        current = await _status(api, shop, operation["id"])
        if current is None:
            raise BulkOperationError(f"bulk operation {operation['id']} no longer exists; run again")
        bar.set_postfix_str(f"{current['status'].lower()}, {current.get('objectCount') or 0} objects")
        return current

    if operation["status"] not in UNFINISHED:
        return operation
    waiting = AsyncRetrying(
        retry=retry_if_result(lambda op: op["status"] in UNFINISHED),
        wait=wait_exponential(multiplier=poll_s, max=30 * poll_s),
    )  # no stop: a big shop's export can take hours, and an interrupted run polls the same one again
    return await waiting(poll)


def _failure(operation: dict[str, Any]) -> BulkOperationError:
    code = operation.get("errorCode")
    hint = FAILURE_HINTS.get(code or "", "run the backfill again to start a new one")
    state = operation["status"].lower()
    return BulkOperationError(
        f"bulk operation {operation['id']} {state}" + (f" ({code})" if code else "") + f": {hint}"
    )


def _lines(file: IO[bytes]) -> Iterator[bytes]:
    file.seek(0)
    yield from file


def stitched(lines: Callable[[], Iterable[bytes]]) -> Iterator[dict[str, Any]]:
    """The root objects of a bulk JSONL file in file order, each with its children put back.

    A child is a line whose `__parentId` names its parent; it joins the parent's list field
    (`CHILD_FIELDS`). Shopify promises no child order unless objects are grouped, so a first pass
    over `lines()` collects the children (few) and a second yields the roots: the n-th object
    yielded is always the file's n-th root line, which is what a resumed run counts on.
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
            yield _adopt(root, children)


def _adopt(parent: dict[str, Any], children: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    for child in children.pop(parent["id"], ()):
        kind = child["id"].split("/")[-2]  # gid://shopify/Refund/9 → Refund
        if kind not in CHILD_FIELDS:
            raise ValueError(f"bulk JSONL: unexpected child object of type {kind}")
        parent.setdefault(CHILD_FIELDS[kind], []).append(_adopt(child, children))
    return parent
