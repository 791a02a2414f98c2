"""The scheduled sync: keeps every installed shop's state equal to Shopify's when webhooks were lost.

A run (`SyncRuns.run`) reads the orders updated since the shop's last successful run began (less
`STOREPULSE_SYNC_OVERLAP_S`; a full run reads every order) through ingest/sync_orders.py; once
every `STOREPULSE_SYNC_CATALOG_INTERVAL` (a day; every full run) it refreshes the shop's products
(ingest/sync_catalog.py); once every `STOREPULSE_SYNC_RECONCILE_INTERVAL` (a week) an incremental
run also compares every customer with Shopify and repairs the ones that differ
(ingest/sync_reconcile.py); then it heals
the shop's webhook subscriptions (`shopify/subscriptions.py`; not when they come from
`shopify.app.toml`, STOREPULSE_WEBHOOKS_FROM_CONFIG). What it did is kept per job in
`sync-status:{shop}` for the app and the CLI.

Where it runs: every stream worker ticks every `STOREPULSE_SYNC_TICK_S` (streams/agents/sync_timer.py)
and starts what is due: a shop's run is due `STOREPULSE_SYNC_INTERVAL` after its last one began,
jittered per shop (shops installed together do not all start together), at once when the merchant
or `storepulse sync` asked (`sync-request:{shop}`), and at once when a run was cut short (its
checkpoint is left). Exactly one run per shop across all workers is a Redis lease
(`sync-lease:{shop}`, renewed while the run goes on) rather than the partition that owns the shop:
a sync calls Shopify for minutes, and tying it to a partition would stop it at every rebalance
and hold it on whichever worker owns many large shops; a lease lets any idle worker take any
shop, and one that dies lets it lapse within `STOREPULSE_SYNC_LEASE_S`.

The checkpoint (`sync:{shop}`: the run's id, `since`, `full`, when it began, the page cursor) is
written before the first page and after each acknowledged one, so a run cut short resumes where
it stopped with the same `since`; it goes when the run succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import redis.asyncio as redis
import structlog
from redis.exceptions import LockError
from tqdm import tqdm

from ingest.leases import keep_renewed
from ingest.producer import DurableProducer
from ingest.routing import SUBSCRIBED_TOPICS
from ingest.sync_catalog import HeldProducts, refresh_catalog
from ingest.sync_orders import sync_orders
from ingest.sync_reconcile import reconcile
from shopify.admin import AdminApi
from shopify.http_client import shopify_http
from shopify.subscriptions import heal_subscriptions
from storepulse import redis_keys
from storepulse.redis_client import Hash, redis_client
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry, token_cipher

log = structlog.get_logger(__name__)

RUNNING, DONE, FAILED, INTERRUPTED, QUEUED, NEVER = (
    "running",
    "done",
    "failed",
    "interrupted",
    "queued",
    "never",
)
FULL, INCREMENTAL = "full", "incremental"
# After a failed run the next try waits this share of the interval, not the whole of it.
RETRY_SHARE = 0.125


class SyncRunning(Exception):
    """The shop's sync runs or is queued already; `state` says which."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__("a sync of this shop is already running or queued")
        self.state = state


@dataclass
class SyncOutcome:
    """What one run did (the worker's metrics count it)."""

    shop: str
    run_id: str
    kind: str
    state: str = RUNNING
    orders_fetched: int = 0
    subscriptions_repaired: list[str] | None = None  # None: not checked (from the app's configuration)
    drift: dict[str, int] | None = None  # the reconciliation's counts; None: not reconciled this run
    catalog: dict[str, int] | None = None  # the catalog refresh's counts; None: not refreshed this run
    seconds: float = 0.0
    error: str | None = None
    resumed: bool = False
    started_at: str = field(default_factory=lambda: _iso(time.time()))

    def record(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "kind": self.kind,
            "state": self.state,
            "started_at": self.started_at,
            "orders_fetched": self.orders_fetched,
            "subscriptions_repaired": self.subscriptions_repaired,
            "drift": self.drift,
            "catalog": self.catalog,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "resumed": self.resumed,
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def jitter(shop: str) -> float:
    """The shop's fixed place in [0, 1): where in the jitter window its runs fall."""
    return int.from_bytes(hashlib.sha256(shop.encode()).digest()[:8], "big") / 2**64


Progress = Callable[[SyncOutcome], Awaitable[None]]


async def _quiet(_: SyncOutcome) -> None:
    return None


class SyncRuns:
    def __init__(
        self,
        client: redis.Redis,
        registry: ShopRegistry,
        api: AdminApi,
        producer: DurableProducer,
        settings: Settings,
        held_products: HeldProducts | None = None,
    ) -> None:
        """`held_products` (the worker's catalog) lets the catalog refresh delete what Shopify
        no longer has; without it (the CLI) the refresh only updates."""
        self._held_products = held_products
        self._client = client
        self._registry = registry
        self._api = api
        self._producer = producer
        self._settings = settings
        self._callback_url = f"{settings.public_url.rstrip('/')}/webhooks/shopify"
        self._tasks: set[asyncio.Task[SyncOutcome | None]] = set()

    # What the app and the CLI use.

    async def request(self, shop: str, *, full: bool = False) -> dict[str, Any]:
        """Ask for a run now (a worker starts it within a tick); raises `SyncRunning` when one runs
        or is queued already."""
        if await self._client.exists(redis_keys.sync_lease(shop)) or not await self._client.set(
            redis_keys.sync_request(shop), FULL if full else INCREMENTAL, nx=True
        ):
            raise SyncRunning(await self.state(shop))
        log.info("sync_requested", shop=shop, full=full)
        return await self.state(shop)

    async def state(self, shop: str) -> dict[str, Any]:
        """`{state, requested, last_run, last_success, next_run}` of the shop's sync."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(redis_keys.sync_status(shop))
            pipe.exists(redis_keys.sync_lease(shop))
            pipe.get(redis_keys.sync_request(shop))
            raw, leased, requested = await pipe.execute()
        status = {k.decode(): orjson.loads(v) for k, v in raw.items()}
        for record in (status.get("run"), status.get("success")):
            if record:  # counted by the workers' customers step as they apply the run's orders
                record["orders_applied"] = await self._client.scard(
                    redis_keys.sync_applied(shop, record["id"])
                )
        last = status.get("run")
        state = RUNNING if leased else QUEUED if requested else (last or {}).get("state", NEVER)
        if state == RUNNING and not leased:
            state = INTERRUPTED
        shop_record = await self._registry.get(shop)
        installed_at = shop_record.installed_at if shop_record else None
        return {
            "state": state,
            "requested": requested.decode() if requested else None,
            "last_run": last,
            "last_success": status.get("success"),
            "last_reconciliation": status.get("reconciled"),
            "last_catalog_refresh": status.get("catalog"),
            "next_run": _iso(self._next_run(shop, status, installed_at)),
            "interval_s": self._settings.sync_interval,
            "subscriptions": "configuration" if self._settings.webhooks_from_config else "api",
        }

    # What the worker's timer uses.

    async def tick(self, on_done: Callable[[SyncOutcome], None]) -> int:
        """Start every due run this worker has room for (in the background); how many started."""
        started = 0
        for shop in await self._registry.all():
            if len(self._tasks) >= self._settings.sync_concurrency:
                break
            if not shop.installed or (kind := await self._due(shop.domain, shop.installed_at)) is None:
                continue
            lease = self._client.lock(
                redis_keys.sync_lease(shop.domain), timeout=self._settings.sync_lease_s, blocking=False
            )
            if not await lease.acquire():
                continue  # another worker runs it
            task = asyncio.create_task(self._leased(shop.domain, kind == FULL, lease, _quiet))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(
                lambda t: on_done(t.result()) if not t.cancelled() and t.result() else None
            )
            started += 1
        return started

    async def run(self, shop: str, *, full: bool = False, progress: Progress = _quiet) -> SyncOutcome:
        """Run the shop's sync here and now (`storepulse sync`); `SyncRunning` when one runs elsewhere."""
        lease = self._client.lock(
            redis_keys.sync_lease(shop), timeout=self._settings.sync_lease_s, blocking=False
        )
        if not await lease.acquire():
            raise SyncRunning(await self.state(shop))
        return await self._leased(shop, full, lease, progress)

    async def aclose(self) -> None:
        """Stop this process's runs; each resumes from its checkpoint on the next tick anywhere."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _next_run(self, shop: str, status: dict[str, Any], installed_at: str | None) -> float:
        interval = self._settings.sync_interval
        success = status.get("success")
        anchor = (
            _epoch(success["started_at"])
            if success
            else _epoch(installed_at)
            if installed_at
            else time.time()
        )
        scheduled = anchor + interval * (0.75 + 0.25 * jitter(shop))
        last = status.get("run")
        if last and last.get("state") == FAILED:
            return max(
                scheduled, _epoch(last["started_at"]) + last.get("seconds", 0) + interval * RETRY_SHARE
            )
        return scheduled

    async def _due(self, shop: str, installed_at: str) -> str | None:
        """`full` / `incremental` when the shop's run is due now, else None."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.get(redis_keys.sync_request(shop))
            pipe.hget(redis_keys.sync_checkpoint(shop), "full")
            pipe.hgetall(redis_keys.sync_status(shop))
            requested, checkpoint_full, raw = await pipe.execute()
        if requested:
            return cast(bytes, requested).decode()
        if checkpoint_full is not None:  # a run cut short: resume it now
            return FULL if checkpoint_full == b"1" else INCREMENTAL
        status = {k.decode(): orjson.loads(v) for k, v in raw.items()}
        return INCREMENTAL if time.time() >= self._next_run(shop, status, installed_at) else None

    async def _leased(self, shop: str, full: bool, lease: Any, progress: Progress) -> SyncOutcome:
        renewing = asyncio.create_task(keep_renewed(lease, self._settings.sync_lease_s, "sync", shop))
        try:
            return await self._run(shop, full, progress)
        finally:
            renewing.cancel()
            with contextlib.suppress(LockError):  # lapsed: nothing of ours to release
                await lease.release()

    async def _run(self, shop: str, full: bool, progress: Progress) -> SyncOutcome:
        requested = cast(bytes | None, await self._client.getdel(redis_keys.sync_request(shop)))
        full = full or requested == FULL.encode()
        checkpoint_key = redis_keys.sync_checkpoint(shop)
        saved = cast(Hash, await self._client.hgetall(checkpoint_key))
        if saved.get(b"run"):
            outcome = SyncOutcome(
                shop,
                saved[b"run"].decode(),
                FULL if saved.get(b"full") == b"1" else INCREMENTAL,
                resumed=True,
                started_at=saved[b"started_at"].decode(),
            )
            since = saved.get(b"since", b"").decode() or None
        else:
            outcome = SyncOutcome(shop, uuid.uuid4().hex[:12], FULL if full else INCREMENTAL)
            since = None if full else await self._since(shop)
            await self._client.hset(
                checkpoint_key,
                mapping={
                    "run": outcome.run_id,
                    "full": int(full),
                    "since": since or "",
                    "started_at": outcome.started_at,
                },
            )
        began = time.monotonic()
        log.info("sync_started", shop=shop, run=outcome.run_id, kind=outcome.kind, resumed=outcome.resumed)

        async def fetched(done: int, _: int) -> None:
            outcome.orders_fetched = done
            outcome.seconds = time.monotonic() - began
            await self._write(shop, outcome)
            await progress(outcome)

        await self._write(shop, outcome)
        try:
            await sync_orders(
                shop,
                self._api,
                self._producer,
                self._client,
                since=since,
                run_id=outcome.run_id,
                progress=fetched,
            )
            if outcome.kind == FULL or await self._job_due(
                shop, "catalog", self._settings.sync_catalog_interval
            ):
                outcome.catalog = (
                    await refresh_catalog(
                        shop, self._api, self._producer, run_id=outcome.run_id, held=self._held_products
                    )
                ).record()
                await self._client.hset(
                    redis_keys.sync_status(shop),
                    "catalog",
                    orjson.dumps({"started_at": outcome.started_at, **outcome.catalog}),
                )
            if outcome.kind != FULL and await self._job_due(
                shop, "reconciled", self._settings.sync_reconcile_interval
            ):
                outcome.drift = (
                    await reconcile(shop, self._api, self._producer, self._client, run_id=outcome.run_id)
                ).record()
                await self._client.hset(
                    redis_keys.sync_status(shop),
                    "reconciled",
                    orjson.dumps({"started_at": outcome.started_at, **outcome.drift}),
                )
            if not self._settings.webhooks_from_config:
                outcome.subscriptions_repaired = await heal_subscriptions(
                    self._api, shop, self._callback_url, SUBSCRIBED_TOPICS
                )
            outcome.state = DONE
        except asyncio.CancelledError:  # this process stops: the checkpoint lets any worker resume
            outcome.state = INTERRUPTED
            await self._write(shop, outcome)
            raise
        # Whatever stopped it (Shopify, the broker, a bad answer) is the run's outcome for the
        # merchant to see; the checkpoint stays, so the retry resumes.
        except Exception as exc:
            outcome.state, outcome.error = FAILED, str(exc) or type(exc).__name__
            log.warning("sync_failed", shop=shop, run=outcome.run_id, error=outcome.error)
        outcome.seconds = time.monotonic() - began
        await self._write(shop, outcome)
        if outcome.state == DONE:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(redis_keys.sync_status(shop), "success", orjson.dumps(outcome.record()))
                pipe.delete(checkpoint_key)
                await pipe.execute()
            log.info(
                "sync_done",
                shop=shop,
                run=outcome.run_id,
                orders_fetched=outcome.orders_fetched,
                subscriptions_repaired=outcome.subscriptions_repaired,
                seconds=round(outcome.seconds, 3),
            )
        await progress(outcome)
        return outcome

    async def _job_due(self, shop: str, job: str, interval: float) -> bool:
        """`interval` since the run that last did `job` (its field of `sync-status:{shop}`:
        `reconciled`, `catalog`) began, or since the install."""
        raw = await self._client.hget(redis_keys.sync_status(shop), job)
        record = await self._registry.get(shop)
        anchor = orjson.loads(raw)["started_at"] if raw else record.installed_at if record else None
        return anchor is None or time.time() - _epoch(anchor) >= interval

    async def _since(self, shop: str) -> str | None:
        """Where an incremental run starts: its last success's start, else the install (the
        backfill covers what came before), less the overlap."""
        raw = await self._client.hget(redis_keys.sync_status(shop), "success")
        record = await self._registry.get(shop)
        anchor = orjson.loads(raw)["started_at"] if raw else record.installed_at if record else None
        if not anchor:
            return None
        start = datetime.fromisoformat(anchor.replace("Z", "+00:00")) - timedelta(
            seconds=self._settings.sync_overlap_s
        )
        return start.astimezone(UTC).isoformat().replace("+00:00", "Z")

    async def _write(self, shop: str, outcome: SyncOutcome) -> None:
        await self._client.hset(redis_keys.sync_status(shop), "run", orjson.dumps(outcome.record()))


async def run_command(settings: Settings, shop: str | None, *, full: bool) -> list[SyncOutcome]:
    """`storepulse sync [--shop S] [--full]`: each shop's sync here and now, with a progress bar."""
    client = redis_client(settings)
    registry = ShopRegistry(client, token_cipher(settings))
    producer = DurableProducer(
        settings.kafka_bootstrap, idempotent=settings.kafka_idempotent, timeout=settings.produce_timeout
    )
    outcomes = []
    try:
        async with shopify_http(settings.shopify_admin_base_url, timeout=30.0) as http:
            api = AdminApi(http, registry.access_token, api_version=settings.shopify_api_version)
            runs = SyncRuns(client, registry, api, producer, settings)
            shops = [shop] if shop else [s.domain for s in await registry.all() if s.installed]
            for domain in shops:
                with tqdm(unit="order", desc=domain) as bar:

                    async def shown(outcome: SyncOutcome, bar: tqdm = bar) -> None:
                        bar.update(outcome.orders_fetched - bar.n)
                        bar.set_postfix_str(outcome.state)

                    try:
                        outcomes.append(await runs.run(domain, full=full, progress=shown))
                    except SyncRunning as exc:
                        bar.set_postfix_str(f"{exc.state['state']} elsewhere")
                        outcomes.append(
                            SyncOutcome(domain, "", FULL if full else INCREMENTAL, state=exc.state["state"])
                        )
    finally:
        await producer.stop()
        await client.aclose()
    return outcomes
