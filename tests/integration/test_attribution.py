"""Beacons and signed orders through ingest → the worker's attribution → `GET /app/api/analytics`:
duplicates, an order before its impression, a cancellation and a partial refund, exact; and an
experiment's arms with ghost impressions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from loadtests.payloads import next_id, order, webhook
from shopify.topics import ORDERS_CANCELLED, ORDERS_CREATE, ORDERS_UPDATED, REFUNDS_CREATE
from storepulse.contracts import Experiment
from streams.domain.arms import HOLDOUT, arm_of
from tests.fake_shopify import FakeShopify
from tests.support.eventually import eventually
from tests.support.ingest import in_process_ingest
from tests.support.merchant_app import app_settings
from tests.support.stack import Services
from tests.support.webhooks import deliver

STOREFRONT = {"Content-Type": "text/plain;charset=UTF-8"}


@pytest.fixture
async def app(services: Services, fake: FakeShopify) -> AsyncIterator[httpx.AsyncClient]:
    """The merchant app's ingest, whose every beacon comes from one address: a per-address limit
    for a crowd of visitors."""
    async with in_process_ingest(app_settings(services, fake, beacon_rate_per_ip="100000/minute")) as client:
        yield client


class Storefront:
    """The widget's beacons and the shop's signed order webhooks, through one ingest."""

    def __init__(self, app: httpx.AsyncClient, fake: FakeShopify, shop: str) -> None:
        self.app, self.fake, self.shop = app, fake, shop

    async def beacon(self, kind: str, visitor: str, note: str = "purchase-0a1b", **extra: Any) -> None:
        body = {"shop": self.shop, "type": kind, "visitor": visitor, "notification_id": note, **extra}
        answer = await self.app.post("/beacons", content=orjson.dumps(body), headers=STOREFRONT)
        assert answer.status_code == 204, answer.text

    def order(self, visitor: str | None, total: str, *, in_s: float = 60) -> dict[str, Any]:
        # Placed a little after now: the impressions sent now come before it.
        at = (datetime.now(UTC) + timedelta(seconds=in_s)).isoformat()
        placed = order() | {"total_price": total, "created_at": at, "updated_at": at}
        if visitor:
            placed["note_attributes"] = [{"name": "_storepulse_visitor", "value": visitor}]
        return placed

    async def webhook(self, topic: str, payload: dict[str, Any]) -> None:
        await deliver(self.app, webhook(topic, self.shop, payload))

    async def analytics(self, **params: Any) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {self.fake.session_token(self.shop)}"}
        answer = await self.app.get("/app/api/analytics", params=params, headers=auth)
        assert answer.status_code == 200, answer.text
        return answer.json()


def later(placed: dict[str, Any], **changes: Any) -> dict[str, Any]:
    updated = (datetime.fromisoformat(placed["updated_at"]) + timedelta(minutes=1)).isoformat()
    return placed | {"updated_at": updated} | changes


async def test_attributed_orders_and_revenue_are_exact(
    app: httpx.AsyncClient, fake: FakeShopify, shop: str
) -> None:
    store = Storefront(app, fake, shop)
    viewer, clicker, late, canceller, stranger = (f"visitor-{uuid.uuid4().hex[:12]}" for _ in range(5))
    seen_twice = "imp" + uuid.uuid4().hex
    for _ in range(2):  # the widget's offline queue resent it: taken once
        await store.beacon("impression", viewer, id=seen_twice)
    await store.beacon("click", clicker, note="trending-77aa")
    await store.beacon("impression", canceller)
    await store.beacon("dismiss", stranger)

    viewed = store.order(viewer, "100.00")
    clicked = store.order(clicker, "40.00")
    late_order = store.order(late, "70.00")
    cancelled = store.order(canceller, "19.99")
    for _ in range(3):  # Shopify redelivers
        await store.webhook(ORDERS_CREATE, viewed)
    await store.webhook(ORDERS_CREATE, clicked)
    await store.webhook(
        REFUNDS_CREATE,
        {
            "id": next_id(),
            "order_id": clicked["id"],
            "transactions": [{"kind": "refund", "status": "success", "amount": "15.00"}],
        },
    )
    await store.webhook(ORDERS_CREATE, late_order)  # before its impression
    await store.webhook(ORDERS_CREATE, cancelled)
    await store.webhook(ORDERS_CANCELLED, later(cancelled, cancelled_at=datetime.now(UTC).isoformat()))
    await store.webhook(ORDERS_CREATE, store.order(stranger, "55.00"))  # dismissed only: no exposure
    await store.webhook(ORDERS_CREATE, store.order(None, "80.00"))  # no visitor at all
    await store.beacon("impression", late, note="viewing-3c4d")

    expected = {
        "impressions": 3,  # viewer (once), canceller, late
        "clicks": 1,
        "dismissals": 1,
        "visitors": 4,  # exposed: viewer, clicker, canceller, late
        "orders_view": 2,  # viewer's and the late one; the cancelled one left
        "revenue_view": "170.00",
        "orders_click": 1,
        "revenue_click": "25.00",  # 40.00 less the 15.00 refund
        "orders": 3,
        "revenue": "195.00",
    }

    async def settled() -> dict[str, Any] | None:
        body = await store.analytics(days=7)
        totals = body["totals"]
        return body if {k: totals[k] for k in expected} == expected else None

    body = await eventually(settled, timeout=60, what="the attributed totals")
    assert body["totals"]["ctr"] == round(1 / 3, 4)
    assert body["by_kind"]["trending"]["orders_click"] == 1
    assert body["by_kind"]["viewing"]["revenue_view"] == "70.00"
    assert body["by_kind"]["purchase"]["revenue_view"] == "100.00"
    assert sum(d["impressions"] for d in body["by_day"]) == 3 and len(body["by_day"]) == 7
    assert body["experiment"] is None

    # Another version of the viewer's order, refunded in full: its revenue goes, the order stays.
    refunded = later(
        viewed,
        refunds=[
            {
                "id": next_id(),
                "order_id": viewed["id"],
                "transactions": [{"kind": "refund", "status": "success", "amount": "100.00"}],
            }
        ],
    )
    await store.webhook(ORDERS_UPDATED, refunded)

    async def refunded_in_full() -> bool:
        return (await store.analytics())["totals"]["revenue_view"] == "70.00"

    await eventually(refunded_in_full, timeout=60)


async def test_an_experiment_counts_both_arms_with_ghost_impressions(
    app: httpx.AsyncClient, fake: FakeShopify, shop: str
) -> None:
    store = Storefront(app, fake, shop)
    auth = {"Authorization": f"Bearer {fake.session_token(shop)}"}
    started = await app.post("/app/api/analytics/experiment", json={"holdout_pct": 50}, headers=auth)
    assert started.status_code in (200, 202), started.text
    exp = Experiment.model_validate(started.json()["analytics"]["experiment"])

    async def running() -> bool:
        return (await store.analytics())["experiment"] is not None

    await eventually(running, timeout=30)
    visitors = [f"exp-visitor-{uuid.uuid4().hex[:10]}" for _ in range(30)]
    arms = {v: arm_of(exp, v) for v in visitors}
    assert len(set(arms.values())) == 2
    for v in visitors:
        await store.beacon("page_view", v)
        await store.beacon("ghost_impression" if arms[v] == HOLDOUT else "impression", v)
    buyers = visitors[:8]
    for v in buyers:
        await store.webhook(ORDERS_CREATE, store.order(v, "10.00"))
    held_out_buyers = sum(arms[v] == HOLDOUT for v in buyers)

    async def counted() -> dict[str, Any] | None:
        result = (await store.analytics())["experiment"]
        done = (
            sum(a["converted"] for a in result["arms"]) == 8
            and sum(a["exposed"] for a in result["arms"]) == 30
        )
        return result if done else None

    result = await eventually(counted, timeout=60, what="the experiment's arms")
    by_arm = {a["arm"]: a for a in result["arms"]}
    assert by_arm[HOLDOUT]["visitors"] == sum(a == HOLDOUT for a in arms.values())
    assert by_arm[HOLDOUT]["converted"] == held_out_buyers
    assert result["reference"] == HOLDOUT and result["running"]
    assert result["verdicts"][0].startswith("Not enough data yet")
    # The holdout saw no toast: the merchant's attributed orders leave it out.
    assert (await store.analytics())["totals"]["orders_view"] == 8 - held_out_buyers

    stopped = await app.post("/app/api/analytics/experiment/stop", headers=auth)
    assert stopped.status_code in (200, 202)
    restarted = await app.post("/app/api/analytics/experiment", json={"holdout_pct": 10}, headers=auth)
    new_id = restarted.json()["analytics"]["experiment"]["id"]
    assert new_id != exp.id

    async def old_results_kept() -> bool:
        body = await store.analytics()
        past = {e["id"]: e for e in body["past_experiments"]}
        return (
            body["experiment"]["id"] == new_id and exp.id in past and past[exp.id]["stopped_at"] is not None
        )

    await eventually(old_results_kept, timeout=30)
    past = {e["id"]: e for e in (await store.analytics())["past_experiments"]}
    assert sum(a["converted"] for a in past[exp.id]["arms"]) == 8
