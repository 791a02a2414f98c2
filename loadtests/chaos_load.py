"""The chaos run's load: signed webhooks delivered as Shopify delivers them, and what was accepted.

Every webhook is POSTed to ingest until it answers 200; a 503 or no answer is redelivered (same
body, same webhook id) a second later, as Shopify would. `Ledger` keeps what ingest accepted, from
which `expected_metrics` recomputes every customer's metrics independently of the worker.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from ingest.app import WEBHOOK_PATH
from loadtests.payloads import Webhook, order, refund, webhook
from shopify.topics import ORDERS_CANCELLED, ORDERS_CREATE, ORDERS_UPDATED, REFUNDS_CREATE

# Shopify waits 5 s for an answer; a redelivery comes later (here a second, not minutes).
ANSWER_TIMEOUT_S = 5.0
REDELIVERY_S = 1.0
# Requests in flight at once: more wait here, in O(1), rather than in the HTTP pool's queue.
IN_FLIGHT = 256


@dataclass
class Placed:
    """One order as ingest accepted its webhooks: each whole-order version, and its refunds."""

    shop: str
    customer: int
    versions: list[dict[str, Any]] = field(default_factory=list)
    refunds: dict[int, Decimal] = field(default_factory=dict)

    def latest(self) -> dict[str, Any]:
        return max(self.versions, key=lambda v: v["updated_at"])


@dataclass
class Ledger:
    orders: dict[int, Placed] = field(default_factory=dict)
    accepted: list[Webhook] = field(default_factory=list)
    sent: int = 0
    # Accepted orders not yet updated, refunded or cancelled: one change each, drawn in O(1).
    unchanged: list[Placed] = field(default_factory=list)
    redelivered: int = 0
    duplicates: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    # (monotonic time, status) of every 5xx answer, judged against the fault windows afterwards.
    server_errors: list[tuple[float, int]] = field(default_factory=list)
    undelivered: int = 0

    def expected_metrics(self) -> dict[tuple[str, int], tuple[int, Decimal, Decimal]]:
        """(orders, total spent, net spent) per (shop, customer), from the accepted webhooks."""
        out: dict[tuple[str, int], tuple[int, Decimal, Decimal]] = {}
        for placed in self.orders.values():
            if not placed.versions:
                continue
            count, total, net = out.get((placed.shop, placed.customer), (0, Decimal(0), Decimal(0)))
            latest = placed.latest()
            if not latest.get("cancelled_at"):
                price = Decimal(latest["total_price"])
                count, total, net = count + 1, total + price, net + price - sum(placed.refunds.values())
            out[(placed.shop, placed.customer)] = (count, total, net)
        return out

    def created(self) -> list[tuple[str, int]]:
        """(shop, order id) of every order whose orders/create was accepted."""
        return [(p.shop, oid) for oid, p in self.orders.items() if p.versions]


class Deliverer:
    """POSTs webhooks to ingest as Shopify does, recording each outcome in the ledger."""

    def __init__(self, ingest_url: str, secret: bytes, ledger: Ledger, give_up_at: float) -> None:
        self._http = httpx.AsyncClient(
            base_url=ingest_url, timeout=ANSWER_TIMEOUT_S, limits=httpx.Limits(max_connections=IN_FLIGHT)
        )
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._secret = secret
        self.ledger = ledger
        self._give_up_at = give_up_at

    async def deliver(self, hook: Webhook) -> bool:
        """True once ingest took it; False when the run's delivery deadline passed first."""
        self.ledger.sent += 1
        while True:
            try:
                answer = await self._http.post(
                    WEBHOOK_PATH, content=hook.body, headers=hook.headers(self._secret)
                )
                status = answer.status_code
            except httpx.HTTPError:
                status = 0  # no answer in time: Shopify counts it failed and redelivers
            self.ledger.statuses[status] += 1
            if status >= 500:
                self.ledger.server_errors.append((time.monotonic(), status))
            if status == 200:
                return True
            if status not in (0, 503) or time.monotonic() > self._give_up_at:
                self.ledger.undelivered += 1
                return False
            self.ledger.redelivered += 1
            await asyncio.sleep(REDELIVERY_S)

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass(frozen=True)
class Mix:
    """Shares of the load's webhook slots (the rest are new orders)."""

    duplicate: float = 0.05
    out_of_order: float = 0.02
    refund: float = 0.03
    cancel: float = 0.02


class Load:
    """The webhooks of one run, chosen by the run's random generator."""

    def __init__(
        self, shops: list[str], customers_per_shop: int, rng: random.Random, deliverer: Deliverer
    ) -> None:
        self._rng = rng
        self._customers = {
            shop: [rng.randrange(10**9, 10**10) for _ in range(customers_per_shop)] for shop in shops
        }
        self._shops = shops
        self._deliverer = deliverer
        self.ledger = deliverer.ledger

    async def one(self, mix: Mix) -> None:
        """One slot of the load: a new order, or a duplicate, reordered update, refund or cancel."""
        roll = self._rng.random()
        unchanged = self.ledger.unchanged
        if roll < mix.duplicate and self.ledger.accepted:
            self.ledger.duplicates += 1
            await self._deliverer.deliver(self._rng.choice(self.ledger.accepted))
        elif roll < mix.duplicate + mix.out_of_order + mix.refund + mix.cancel and unchanged:
            at = self._rng.randrange(len(unchanged))
            unchanged[at], unchanged[-1] = unchanged[-1], unchanged[at]
            placed = unchanged.pop()
            roll -= mix.duplicate
            if roll < mix.out_of_order:
                await self._reordered(placed)
            elif roll < mix.out_of_order + mix.refund:
                await self._refund(placed)
            else:
                await self._version(placed, ORDERS_CANCELLED, 10, cancelled=True)
        else:
            await self.new_order(self._rng.choice(self._shops))

    async def new_order(self, shop: str) -> int:
        customer = self._rng.choice(self._customers[shop])
        payload = order(customer_id=customer, rng=self._rng)
        placed = Placed(shop, customer)
        self.ledger.orders[payload["id"]] = placed
        await self._send(webhook(ORDERS_CREATE, shop, payload), placed, payload)
        if placed.versions:
            self.ledger.unchanged.append(placed)
        return int(payload["id"])

    async def _reordered(self, placed: Placed) -> None:
        """Two orders/updated sent newest first: the older one, arriving last, must change nothing."""
        await self._version(placed, ORDERS_UPDATED, 20)
        await self._version(placed, ORDERS_UPDATED, 10)

    async def _version(self, placed: Placed, topic: str, later_s: int, *, cancelled: bool = False) -> None:
        first = placed.versions[0]
        payload = dict(first)
        payload["updated_at"] = (
            datetime.fromisoformat(first["created_at"]) + timedelta(seconds=later_s)
        ).isoformat()
        payload["total_price"] = f"{Decimal(first['total_price']) + later_s:.2f}"
        if cancelled:
            payload["cancelled_at"] = payload["updated_at"]
        await self._send(webhook(topic, placed.shop, payload), placed, payload)

    async def _refund(self, placed: Placed) -> None:
        first = placed.versions[0]
        amount = (Decimal(first["total_price"]) / 4).quantize(Decimal("0.01"))
        payload = refund(first, str(amount))
        if await self._deliver(webhook(REFUNDS_CREATE, placed.shop, payload)):
            placed.refunds[payload["id"]] = amount

    async def _send(self, hook: Webhook, placed: Placed, payload: dict[str, Any]) -> None:
        if await self._deliver(hook):
            placed.versions.append(payload)

    async def _deliver(self, hook: Webhook) -> bool:
        taken = await self._deliverer.deliver(hook)
        if taken:
            self.ledger.accepted.append(hook)
        return taken
