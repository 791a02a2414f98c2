"""Imports of VIP status from another loyalty app, run in the background of the ingest process
that was asked, with a log the Imports page shows.

`start` reads the file's header at once (a file that cannot be imported fails there, changing
nothing); the rows are then checked a chunk at a time (admin/import_rows.py) against the shop's
tiers, the customers StorePulse knows (`customers:{shop}`) and the tiers they already hold
(`tier-floors:{shop}`). Each row that would change a customer becomes a `storepulse/tier-floor`
record on the customer's partition of `streams.customer-events`, where the worker applies it
like any event (streams/domain/tier_floor.py); a row the customer already holds changes nothing,
so running a file again applies nothing more. A dry run writes nothing but the log.

The log: `import-run:{shop}:{id}` (status pending → processing → completed, failed or
cancelled; counts; who; when), `import-rejects:{shop}:{id}` (each rejected row), `imports:{shop}`
(the shop's imports by time). A run keeps `heartbeat_at` fresh; one whose process stopped is
shown as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import redis.asyncio as redis
import structlog
from redis.typing import EncodableT, FieldT

from admin.import_files import ImportFile, Row, read
from admin.import_rows import DUPLICATE, UNKNOWN_CUSTOMER, Candidate, EmailResolver, Rejected, check
from ingest.producer import DurableProducer
from storepulse import redis_keys
from storepulse.envelope import TIER_FLOOR
from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, item_key
from storepulse.redis_client import Hash

log = structlog.get_logger(__name__)

PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    "pending",
    "processing",
    "completed",
    "failed",
    "cancelled",
)
RUNNING = (PENDING, PROCESSING)
CHUNK = 1000
# A run that has not beaten its heart for this long died with its process.
HEARTBEAT_S = 60.0
# How many of an import's rejected rows its record lists (the CSV has them all).
REJECTS_SHOWN = 1000
COUNTS = ("rows_read", "rows_applied", "rows_unchanged", "rows_rejected")
Fields = dict[FieldT, EncodableT]  # what HSET takes


class Cancelled(Exception):
    """The merchant cancelled the import."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def floor_record(shop: str, customer_id: str, tier: str | None, until: str | None, source: str) -> bytes:
    """The `storepulse/tier-floor` envelope that sets (or, with no tier, removes) a customer's floor."""
    payload = {"tier": tier, "until": until, "source": source, "set_at": _now()}
    return orjson.dumps({"topic": TIER_FLOOR, "shop": shop, "customer_id": customer_id, "payload": payload})


class ImportRuns:
    def __init__(self, client: redis.Redis, producer: DurableProducer, emails: EmailResolver) -> None:
        self._client = client
        self._producer = producer
        self._emails = emails
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(
        self,
        shop: str,
        data: bytes,
        *,
        tiers: Sequence[str],
        source: str,
        filename: str,
        mapping: Mapping[str, str],
        dry_run: bool,
        user: Mapping[str, str | None],
    ) -> dict[str, Any]:
        """The new import's record; it runs in the background. Raises `ImportFileError` (after
        logging the import as failed) for a file that cannot be imported."""
        import_id = f"{int(time.time() * 1000):013d}-{secrets.token_hex(3)}"
        record: dict[str, Any] = {
            "id": import_id,
            "source": source,
            "filename": filename,
            "dry_run": dry_run,
            "status": PENDING,
            "created_at": _now(),
            "user_id": user.get("user_id"),
            "user_name": user.get("name"),
            **dict.fromkeys(COUNTS, 0),
        }
        await self._client.zadd(redis_keys.imports(shop), {import_id: int(time.time() * 1000)})
        try:
            parsed = read(data, mapping)
        except Exception as exc:
            await self._save(
                shop, import_id, {**record, "status": FAILED, "error": str(exc), "finished_at": _now()}
            )
            raise
        record |= {"format": parsed.format, "columns": list(parsed.columns), "mapping": dict(parsed.mapping)}
        await self._save(shop, import_id, {**record, "heartbeat_at": time.time()})
        task = asyncio.create_task(self._run(shop, import_id, parsed, tiers, dry_run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await self.get(shop, import_id) or record

    async def set_floor(self, shop: str, customer_id: str, tier: str | None, until: str | None) -> None:
        """Set (or, with no tier, remove) one customer's floor by hand."""
        record = floor_record(shop, customer_id, tier, until, "manual")
        await self._producer.send(TOPIC_CUSTOMER_EVENTS, item_key(shop, customer_id), record)

    async def cancel(self, shop: str, import_id: str) -> dict[str, Any] | None:
        """Ask a running import to stop (whichever process runs it): before its next chunk is
        written, or its next email asked of Shopify. What it wrote stays."""
        record = await self.get(shop, import_id)
        if record is not None and record["status"] in RUNNING:
            await self._client.hset(redis_keys.import_run(shop, import_id), "cancel", "1")
        return record

    async def _cancelled(self, shop: str, import_id: str) -> None:
        if await self._client.hexists(redis_keys.import_run(shop, import_id), "cancel"):
            raise Cancelled

    async def get(self, shop: str, import_id: str, *, rejects: int = 0) -> dict[str, Any] | None:
        """An import's record (with its first `rejects` rejected rows), None for an unknown one."""
        raw = cast(Hash, await self._client.hgetall(redis_keys.import_run(shop, import_id)))
        if not raw:
            return None
        record = {k.decode(): orjson.loads(v) for k, v in raw.items() if k != b"cancel"}
        record["cancel_requested"] = b"cancel" in raw
        stale = time.time() - float(record.pop("heartbeat_at", 0) or 0) > HEARTBEAT_S
        if record["status"] in RUNNING and stale:
            record |= {
                "status": FAILED,
                "error": "interrupted: the app stopped while importing; run the file again",
            }
        if rejects:
            held = await self._client.lrange(redis_keys.import_rejects(shop, import_id), 0, rejects - 1)
            record["rejected"] = [orjson.loads(r) for r in held]
        return record

    async def rejected(self, shop: str, import_id: str) -> list[dict[str, Any]]:
        return [
            orjson.loads(r)
            for r in await self._client.lrange(redis_keys.import_rejects(shop, import_id), 0, -1)
        ]

    async def recent(self, shop: str, limit: int = 50) -> list[dict[str, Any]]:
        """The shop's latest imports, newest first."""
        ids = cast(list[bytes], await self._client.zrange(redis_keys.imports(shop), 0, limit - 1, desc=True))
        records = [await self.get(shop, i.decode()) for i in ids]
        return [r for r in records if r is not None]

    async def aclose(self) -> None:
        """Stop the runs of this process (the next process shows them as failed)."""
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _save(self, shop: str, import_id: str, fields: Mapping[str, Any]) -> None:
        mapping: Fields = {k: orjson.dumps(v) for k, v in fields.items()}
        await self._client.hset(redis_keys.import_run(shop, import_id), mapping=mapping)

    async def _run(
        self, shop: str, import_id: str, parsed: ImportFile, tiers: Sequence[str], dry_run: bool
    ) -> None:
        counts = dict.fromkeys(COUNTS, 0)
        seen: dict[str, int] = {}
        names = {t.lower(): t for t in tiers}
        source = f"import/{import_id}"
        status, error = COMPLETED, None
        await self._save(
            shop, import_id, {"status": PROCESSING, "started_at": _now(), "heartbeat_at": time.time()}
        )
        today = datetime.now(UTC).date()
        try:
            chunk: list[Row] = []
            for row in parsed.rows:
                chunk.append(row)
                if len(chunk) < CHUNK:
                    continue
                checked = [check(r, names, today) for r in chunk]
                await self._chunk(shop, import_id, checked, seen, counts, source, dry_run)
                chunk = []
            checked = [check(r, names, today) for r in chunk]
            await self._chunk(shop, import_id, checked, seen, counts, source, dry_run)
        except Cancelled:
            status = CANCELLED
        except Exception as exc:  # whatever broke, the log says so and the app goes on
            log.exception("import_failed", shop=shop, import_id=import_id)
            status, error = FAILED, f"the import stopped: {exc}"
        await self._save(
            shop,
            import_id,
            {**counts, "status": status, "error": error, "finished_at": _now(), "heartbeat_at": time.time()},
        )
        log.info("import_finished", shop=shop, import_id=import_id, status=status, **counts)

    async def _chunk(
        self,
        shop: str,
        import_id: str,
        checked: list[Candidate | Rejected],
        seen: dict[str, int],
        counts: dict[str, int],
        source: str,
        dry_run: bool,
    ) -> None:
        await self._cancelled(shop, import_id)
        rows: list[Candidate | Rejected] = []
        for item in checked:
            if isinstance(item, Candidate) and item.customer_id is None and item.email:
                await self._cancelled(shop, import_id)  # each one waits its turn at Shopify
                found = await self._emails.customer_id(shop, item.email)
                item = (
                    Candidate(item.row, found, None, item.tier, item.until)
                    if found
                    else Rejected(item.row, UNKNOWN_CUSTOMER, "no customer of the shop has this email")
                )
            rows.append(item)
        ids = [r.customer_id for r in rows if isinstance(r, Candidate) and r.customer_id]
        known, floors = await self._held(shop, ids)
        apply: list[Candidate] = []
        rejects: list[Rejected] = []
        for item in rows:
            if isinstance(item, Rejected):
                rejects.append(item)
                continue
            customer = str(item.customer_id)
            if customer in seen:
                rejects.append(Rejected(item.row, DUPLICATE, f"the same customer as row {seen[customer]}"))
            elif customer not in known:
                detail = f"StorePulse knows no customer {customer}: their orders arrive with the backfill"
                rejects.append(Rejected(item.row, UNKNOWN_CUSTOMER, detail))
            else:
                seen[customer] = item.row
                held = floors.get(customer)
                if held is not None and (held.get("tier"), held.get("until")) == (item.tier, item.until):
                    counts["rows_unchanged"] += 1
                else:
                    apply.append(item)
        if apply and not dry_run:
            await asyncio.gather(
                *(
                    self._producer.send(
                        TOPIC_CUSTOMER_EVENTS,
                        item_key(shop, c.customer_id),
                        floor_record(shop, str(c.customer_id), c.tier, c.until, source),
                    )
                    for c in apply
                )
            )
        counts["rows_read"] += len(checked)
        counts["rows_applied"] += len(apply)
        counts["rows_rejected"] += len(rejects)
        async with self._client.pipeline(transaction=False) as pipe:
            if rejects:
                pipe.rpush(
                    redis_keys.import_rejects(shop, import_id), *(orjson.dumps(r.record()) for r in rejects)
                )
            progress: Fields = {
                k: orjson.dumps(v) for k, v in {**counts, "heartbeat_at": time.time()}.items()
            }
            pipe.hset(redis_keys.import_run(shop, import_id), mapping=progress)
            await pipe.execute()

    async def _held(self, shop: str, ids: list[str]) -> tuple[set[str], dict[str, dict[str, Any]]]:
        """Which of `ids` StorePulse knows, and the tier floors they hold."""
        if not ids:
            return set(), {}
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hmget(redis_keys.customers(shop), ids)
            pipe.hmget(redis_keys.tier_floors(shop), ids)
            rows, floors = await pipe.execute()
        known = {c for c, r in zip(ids, rows, strict=True) if r is not None}
        held = {c: orjson.loads(f) for c, f in zip(ids, floors, strict=True) if f is not None}
        return known, held
