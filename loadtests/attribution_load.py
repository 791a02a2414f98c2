"""A storefront's visitors, their beacons and their orders, and the attributed totals recomputed
from them alone: the input of the attribution benchmark, the end-to-end check and the crash test.

Orders carry the visitor in `note_attributes` as the widget's cart attribute puts it there; some
orders are delivered twice, some cancelled later, some partly refunded; some visitors were never
exposed or only long ago; some orders name no visitor. `expected` applies the attribution rules
(click within 7 days, else impression within 24 hours, before the order) to the inputs directly.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from loadtests.payloads import next_id, order
from shopify.topics import ORDERS_CANCELLED, ORDERS_CREATE, REFUNDS_CREATE
from storepulse import redis_keys

KINDS = ("purchase", "trending", "viewing")
VIEW_WINDOW = timedelta(hours=24)
CLICK_WINDOW = timedelta(days=7)


@dataclass
class Workload:
    shop: str
    # Beacon bodies as a widget posts them, with `received_at` (used when produced straight to Kafka).
    beacons: list[dict[str, Any]] = field(default_factory=list)
    # (webhook topic, payload) in delivery order, repeats included.
    webhooks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The orders as they end: visitor, created_at, total, refunded, cancelled.
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)

    def beacon_body(self, beacon: dict[str, Any], *, with_time: bool) -> bytes:
        return orjson.dumps(beacon if with_time else {k: v for k, v in beacon.items() if k != "received_at"})

    def expected(self) -> dict[str, Any]:
        """The totals the analytics API must show, from the inputs and the rules alone."""
        counts = Counter(b["type"] for b in self.beacons)
        exposures: dict[str, dict[str, list[datetime]]] = {}
        for b in self.beacons:
            exposures.setdefault(b["visitor"], {}).setdefault(b["type"], []).append(
                datetime.fromisoformat(b["received_at"])
            )
        totals: dict[str, Any] = {
            "impressions": counts["impression"],
            "clicks": counts["click"],
            "dismissals": counts["dismiss"],
            "orders_view": 0,
            "orders_click": 0,
            "revenue_view": Decimal(0),
            "revenue_click": Decimal(0),
        }
        for o in self.orders.values():
            if o["cancelled"] or o["visitor"] is None:
                continue
            seen = exposures.get(o["visitor"], {})
            at = o["created_at"]
            how = None
            if any(at - CLICK_WINDOW <= t <= at for t in seen.get("click", ())):
                how = "click"
            elif any(at - VIEW_WINDOW <= t <= at for t in seen.get("impression", ())):
                how = "view"
            if how:
                totals[f"orders_{how}"] += 1
                totals[f"revenue_{how}"] += o["total"] - o["refunded"]
        totals["revenue_view"] = str(totals["revenue_view"])
        totals["revenue_click"] = str(totals["revenue_click"])
        return totals


def workload(
    shop: str,
    *,
    visitors: int = 1000,
    impressions: int = 5000,
    attributed: int = 300,
    rng: random.Random | None = None,
    now: datetime | None = None,
    orders_in: timedelta = timedelta(minutes=30),
) -> Workload:
    """`attributed` orders end attributed (more are placed: some are cancelled); beacons were
    received up to 3 hours before `now`, orders placed `orders_in` after it."""
    rng = rng or random.Random(15)
    now = now or datetime.now(UTC)
    load = Workload(shop)
    ids = [f"v{uuid.UUID(int=rng.getrandbits(128)).hex[:20]}" for _ in range(visitors)]
    exposed, stale = ids[: visitors * 7 // 10], ids[visitors * 7 // 10 : visitors * 8 // 10]

    def beacon(kind: str, visitor: str, at: datetime) -> None:
        note = f"{rng.choice(KINDS)}-{rng.getrandbits(48):012x}"
        load.beacons.append(
            {
                "shop": shop,
                "type": kind,
                "visitor": visitor,
                "notification_id": note,
                "received_at": at.isoformat(),
            }
        )

    for i in range(impressions):
        visitor = exposed[i % len(exposed)] if i < len(exposed) else rng.choice(exposed)
        beacon("impression", visitor, now - timedelta(seconds=rng.uniform(0, 3 * 3600)))
    for visitor in stale:  # seen two days before their order: outside the view window
        beacon("impression", visitor, now + orders_in - timedelta(hours=48))
    for visitor in rng.sample(exposed, len(exposed) // 5):
        beacon("click", visitor, now - timedelta(seconds=rng.uniform(0, 3600)))
    for visitor in rng.sample(exposed, len(exposed) // 10):
        beacon("dismiss", visitor, now - timedelta(seconds=rng.uniform(0, 3600)))
    rng.shuffle(load.beacons)

    placed_at = now + orders_in
    cancelled = max(1, attributed // 20)

    def place(visitor: str | None) -> dict[str, Any]:
        o = order(rng=rng) | {
            "id": next_id(),
            "total_price": f"{rng.randint(500, 25000) / 100:.2f}",
            "created_at": placed_at.isoformat(),
            "updated_at": placed_at.isoformat(),
        }
        if visitor is not None:
            o["note_attributes"] = [{"name": "_storepulse_visitor", "value": visitor}]
        load.orders[o["id"]] = {
            "visitor": visitor,
            "created_at": placed_at,
            "total": Decimal(o["total_price"]),
            "refunded": Decimal(0),
            "cancelled": False,
        }
        load.webhooks.append((ORDERS_CREATE, o))
        if rng.random() < 0.2:  # Shopify delivers it again
            load.webhooks.append((ORDERS_CREATE, o))
        return o

    buyers = [rng.choice(exposed) for _ in range(attributed + cancelled)]
    placed = [place(v) for v in buyers]
    for v in rng.sample(ids[visitors * 8 // 10 :], min(100, visitors // 10)):
        place(v)  # never exposed
    for v in stale:
        place(v)
    for _ in range(50):
        place(None)
    for o in placed[:cancelled]:
        later = (placed_at + timedelta(minutes=5)).isoformat()
        load.webhooks.append((ORDERS_CANCELLED, o | {"cancelled_at": later, "updated_at": later}))
        load.orders[o["id"]]["cancelled"] = True
    for o in placed[cancelled : cancelled + attributed // 10]:
        amount = (Decimal(o["total_price"]) / 3).quantize(Decimal("0.01"))
        tx = {"kind": "refund", "status": "success", "amount": str(amount)}
        load.webhooks.append((REFUNDS_CREATE, {"id": next_id(), "order_id": o["id"], "transactions": [tx]}))
        load.orders[o["id"]]["refunded"] += amount
    return load


async def attributed_totals(client: Any, shop: str) -> dict[str, Any]:
    """The shop's counters summed over every day, straight from the read model."""
    totals: Counter[str] = Counter()
    revenue = {"revenue_view": Decimal(0), "revenue_click": Decimal(0)}
    for field_name, value in (await client.hgetall(redis_keys.analytics(shop))).items():
        if not field_name.startswith(b"d:"):
            continue
        for name, amount in orjson.loads(value).items():
            dimension, _, metric = name.partition("|")
            if dimension != "all":
                continue
            if metric in revenue:
                revenue[metric] += Decimal(amount)
            else:
                totals[metric] += amount
    return {**totals, **{k: str(v) for k, v in revenue.items()}}
