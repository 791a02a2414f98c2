"""The backfill of a large shop: one bulk operation instead of thousands of cost-paced pages.

A bulk operation (`shopify/bulk.py`) writes every order to a JSONL file; the run waits for it,
streams the file to a temporary file, and produces its orders in file order, `batch` at a time,
through the same `produce_order` as the paginated path. After each batch the broker
acknowledged, Redis (`backfill:{shop}`) holds the operation id and how many of its orders are
done: an interrupted run polls or re-downloads the same operation and skips those; one whose
operation failed or expired starts a new operation (re-producing is harmless, the ledger dedups
by order id and `updated_at`).
"""

from __future__ import annotations

import asyncio
import tempfile
from itertools import islice
from typing import Any

import redis.asyncio as redis
import structlog
from tqdm import tqdm

from ingest.backfill_orders import ORDER_FIELDS, Progress, produce_order
from ingest.producer import DurableProducer
from shopify import bulk
from shopify.admin import AdminApi
from shopify.bulk import BulkOperationError

log = structlog.get_logger(__name__)

BULK_QUERY = f"{{ orders(sortKey: CREATED_AT) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }}"
# What a failed operation's errorCode means for the person running the command.
FAILURE_HINTS = {
    "ACCESS_DENIED": "the app lacks an access scope the query needs (read_orders; read_all_orders "
    "for orders older than 60 days)",
    "INTERNAL_SERVER_ERROR": "Shopify failed while running it; run the backfill again to start a new one",
    "TIMEOUT": "Shopify gave up on it; run the backfill again to start a new one",
}
# The field a child object (a line with `__parentId`) belongs to in its order, by GID type.
CHILD_FIELDS = {"Refund": "refunds"}


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
    progress: Progress,
) -> int:
    """Produce the shop's orders from a bulk operation, resuming the one in `saved`; how many now.

    `progress` hears (done, total) at the start and after every batch the broker acknowledged.
    """
    operation = None
    if saved.get(b"operation"):
        operation = await bulk.status(api, shop, saved[b"operation"].decode())
    done = int(saved.get(b"done", 0))
    if operation is None or operation["status"] not in bulk.UNFINISHED | {"COMPLETED"}:
        if operation is not None:
            status = operation["status"]
            log.info("bulk_operation_replaced", shop=shop, operation=operation["id"], status=status)
        operation = await bulk.start(api, shop, BULK_QUERY)
        done = 0
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"operation": operation["id"], "done": 0})
            await pipe.execute()
    produced = 0
    await progress(done, total)
    with tqdm(total=total, initial=done, unit="order", desc=shop, disable=not show_progress) as bar:

        def status(current: dict[str, Any]) -> None:
            bar.set_postfix_str(f"{current['status'].lower()}, {current.get('objectCount') or 0} objects")

        operation = await bulk.finished(api, shop, operation, poll_s, status)
        if operation["status"] != "COMPLETED":
            raise _failure(operation)
        bar.set_postfix_str("producing")
        with tempfile.TemporaryFile() as jsonl:
            if operation.get("url"):  # null when the operation found no orders
                await bulk.download(api, operation["url"], jsonl)
            orders = islice(bulk.stitched(bulk.lines_of(jsonl), CHILD_FIELDS), done, None)
            while chunk := list(islice(orders, batch)):
                await asyncio.gather(*(produce_order(producer, shop, node) for node in chunk))
                produced += len(chunk)
                bar.update(len(chunk))
                await client.hset(key, "done", done + produced)
                await progress(done + produced, total)
    await client.delete(key)
    return produced


def _failure(operation: dict[str, Any]) -> BulkOperationError:
    code = operation.get("errorCode")
    hint = FAILURE_HINTS.get(code or "", "run the backfill again to start a new one")
    state = operation["status"].lower()
    return BulkOperationError(
        f"bulk operation {operation['id']} {state}" + (f" ({code})" if code else "") + f": {hint}"
    )
