"""Backfills started by the app (a new install, or the merchant's button), run in the background
of the ingest process that was asked: the same `backfill` as `storepulse backfill`.

At most one runs per shop across every ingest process: the run holds a Redis lock
(`backfill-lease:{shop}`, redis-py's `Lock`) whose timeout it keeps renewing, so a process that
dies mid-run lets it lapse and the next start resumes from the saved cursor. What the app shows
(state, times, orders done / total, the error) is kept in `backfill-run:{shop}`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as redis
import structlog
from redis.asyncio.lock import Lock
from redis.exceptions import LockError
from redis.typing import EncodableT, FieldT

from ingest.backfill import backfill
from ingest.leases import keep_renewed
from ingest.producer import DurableProducer
from shopify.admin import AdminApi
from storepulse import redis_keys
from storepulse.settings import Settings

log = structlog.get_logger(__name__)

Fields = dict[FieldT, EncodableT]  # what HSET takes
# A run is marked running until it ends; with no lease left it was cut short (process stopped).
RUNNING, DONE, FAILED, INTERRUPTED, NEVER = "running", "done", "failed", "interrupted", "never"


class BackfillRunning(Exception):
    """The shop's backfill is already running; `state` is that run's."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__("a backfill of this shop is already running")
        self.state = state


def _now() -> str:
    return datetime.now(UTC).isoformat()


class BackfillRuns:
    def __init__(
        self,
        client: redis.Redis,
        api: AdminApi,
        producer: DurableProducer,
        settings: Settings,
        *,
        lease_s: float = 30.0,
    ) -> None:
        self._client = client
        self._api = api
        self._producer = producer
        self._settings = settings
        self._lease_s = lease_s
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, shop: str) -> dict[str, Any]:
        """Start the shop's backfill; its state. Raises `BackfillRunning` when one already runs."""
        lease = self._client.lock(redis_keys.backfill_lease(shop), timeout=self._lease_s, blocking=False)
        if not await lease.acquire():
            raise BackfillRunning(await self.state(shop))
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(redis_keys.backfill_run(shop))
            pipe.hset(redis_keys.backfill_run(shop), mapping={"state": RUNNING, "started_at": _now()})
            await pipe.execute()
        task = asyncio.create_task(self._run(shop, lease))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.info("backfill_started", shop=shop)
        return await self.state(shop)

    async def state(self, shop: str) -> dict[str, Any]:
        """`{state, started_at, finished_at, done, total, produced, error}` of the shop's last run."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(redis_keys.backfill_run(shop))
            pipe.exists(redis_keys.backfill_lease(shop))
            raw, leased = await pipe.execute()
        run = {k.decode(): v.decode() for k, v in raw.items()}
        state = run.get("state", RUNNING if leased else NEVER)
        if state == RUNNING and not leased:
            state = INTERRUPTED
        numbers = {k: int(run[k]) if run.get(k) else None for k in ("done", "total", "produced")}
        return {
            "state": state,
            "started_at": run.get("started_at"),
            "finished_at": run.get("finished_at"),
            **numbers,
            "error": run.get("error"),
        }

    async def aclose(self) -> None:
        """Stop the runs of this process; each resumes from its saved cursor when started again."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, shop: str, lease: Lock) -> None:
        async def progress(done: int, total: int) -> None:
            await self._client.hset(redis_keys.backfill_run(shop), mapping={"done": done, "total": total})

        renewing = asyncio.create_task(keep_renewed(lease, self._lease_s, "backfill", shop))
        try:
            produced = await backfill(
                shop,
                self._api,
                self._producer,
                self._client,
                bulk_threshold=self._settings.backfill_bulk_threshold,
                poll_s=self._settings.backfill_poll_s,
                show_progress=False,
                progress=progress,
            )
            outcome: Fields = {"state": DONE, "produced": produced}
            log.info("backfill_done", shop=shop, produced=produced)
        except asyncio.CancelledError:  # this process stops: another may resume it at once
            await self._finish(shop, lease, {"state": INTERRUPTED})
            raise
        # Whatever stopped it (Shopify, the broker, Redis, a bad answer) is the run's outcome for
        # the merchant to see; it must not escape a background task nobody awaits.
        except Exception as exc:
            outcome = {"state": FAILED, "error": str(exc) or type(exc).__name__}
            log.warning("backfill_failed", shop=shop, error=outcome["error"])
        finally:
            renewing.cancel()
        await self._finish(shop, lease, outcome)

    async def _finish(self, shop: str, lease: Lock, outcome: Fields) -> None:
        await self._client.hset(redis_keys.backfill_run(shop), mapping={**outcome, "finished_at": _now()})
        with contextlib.suppress(LockError):  # lapsed: nothing of ours to release
            await lease.release()
