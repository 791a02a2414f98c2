"""Customer metrics, tiers and read models through the real worker (records produced as ingest would)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis.asyncio as redis

from loadtests.payloads import CATALOG, customers_redact, next_id, order, refund
from shopify.topics import (
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_REDACT,
    ORDERS_CANCELLED,
    ORDERS_CREATE,
    ORDERS_DELETE,
    ORDERS_UPDATED,
    REFUNDS_CREATE,
)
from storepulse.kafka_topics import TOPIC_CUSTOMER_CHANGES
from streams.agents.order_days import read_days
from tests.support.eventually import eventually
from tests.support.kafka import consume, produce_webhooks
from tests.support.stack import Services
from tests.support.state import data_requests, segments, vips


def placed(customer_id: int, total: str, *, ago: timedelta = timedelta(minutes=1)) -> dict:
    o = order(customer_id=customer_id, product=CATALOG[0])
    at = (datetime.now(UTC) - ago).isoformat()
    o.update(total_price=total, created_at=at, updated_at=at)
    return o


def edited(o: dict, *, minutes: int, **changes) -> dict:
    at = datetime.fromisoformat(o["created_at"]) + timedelta(minutes=minutes)
    return o | {"updated_at": at.isoformat()} | changes


async def request_data(services: Services, client: redis.Redis, shop: str, customer_id: int) -> dict:
    """customers/data_request, and the record the worker keeps for the merchant."""
    payload = {"customer": {"id": customer_id}, "data_request": {"id": next_id()}}
    await produce_webhooks(services.stack, [(CUSTOMERS_DATA_REQUEST, shop, payload)])
    field = f"{customer_id}:{payload['data_request']['id']}"
    return await eventually(lambda: _field(client, shop, field))


async def _field(client: redis.Redis, shop: str, field: str) -> dict | None:
    return (await data_requests(client, shop)).get(field)


async def test_metrics_are_exact_through_updates_cancels_refunds_and_deletes(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    c = next_id()
    prices = ((9, "10.00"), (5, "20.50"), (3, "7.25"), (2, "4.50"), (1, "4.00"))
    a, b, x, e, d = (placed(c, p, ago=timedelta(days=n)) for n, p in prices)
    await produce_webhooks(
        services.stack,
        [
            (ORDERS_CREATE, shop, a),
            (ORDERS_CREATE, shop, a),  # a duplicate delivery
            (ORDERS_UPDATED, shop, edited(b, minutes=30, total_price="25.50")),
            (ORDERS_CREATE, shop, b),  # older than the update already applied
            (ORDERS_CREATE, shop, x),
            (ORDERS_CANCELLED, shop, edited(x, minutes=5, cancelled_at=datetime.now(UTC).isoformat())),
            (ORDERS_CREATE, shop, e),
            (ORDERS_CREATE, shop, d),
            (REFUNDS_CREATE, shop, refund(a, "3.00")),  # keyed by order: reaches c via the index
            (ORDERS_DELETE, shop, {"id": d["id"]}),  # likewise
        ],
    )
    vip = await eventually(lambda: _vip(redis_client, shop, c, orders_count=3, net_spent="37.00"))
    assert vip == {"tier": "VIP", "orders_count": 3, "total_spent": "40.00", "net_spent": "37.00"}
    held = await request_data(services, redis_client, shop, c)
    metrics = held["metrics"]
    assert metrics["average_order_value"] == "12.33" and metrics["currency"] == "USD"
    assert metrics["first_order_at"] == a["created_at"] and metrics["last_order_at"] == e["created_at"]
    assert metrics["days_since_last_order"] == 2
    assert metrics["rfm"] == {"recency": 5, "frequency": 3, "monetary": 1}
    assert metrics["segment"] == "potential loyalist"
    assert "orders" not in metrics
    assert sorted(held["order_ids"]) == sorted(str(o["id"]) for o in (a, b, x, e, d))


async def test_refund_before_its_order_is_counted_once_the_order_arrives(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    c = next_id()
    first, second, third = (placed(c, "100.00") for _ in range(3))
    early = refund(third, "40.00")
    await produce_webhooks(services.stack, [(REFUNDS_CREATE, shop, early)])
    await produce_webhooks(services.stack, [(ORDERS_CREATE, shop, o) for o in (first, second, third)])
    vip = await eventually(lambda: _vip(redis_client, shop, c, net_spent="260.00"))
    assert vip == {"tier": "VIP", "orders_count": 3, "total_spent": "300.00", "net_spent": "260.00"}


async def _vip(client: redis.Redis, shop: str, customer_id: int, **expect) -> dict | None:
    vip = (await vips(client, shop)).get(str(customer_id))
    return vip if vip and all(vip.get(k) == v for k, v in expect.items()) else None


async def test_tier_changes_are_events_and_read_models(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    c, other = next_id(), next_id()
    orders = [placed(c, "30.00") for _ in range(3)]
    await produce_webhooks(
        services.stack, [(ORDERS_CREATE, shop, o) for o in [*orders, placed(other, "5.00")]]
    )
    await eventually(lambda: _vip(redis_client, shop, c, orders_count=3))
    assert (await segments(redis_client, shop)) == {str(c): "potential loyalist", str(other): "new customers"}
    cancelled = edited(orders[0], minutes=1, cancelled_at=datetime.now(UTC).isoformat())
    await produce_webhooks(services.stack, [(ORDERS_CANCELLED, shop, cancelled)])
    await eventually(lambda: _not_vip(redis_client, shop, c))
    changes = await consume(services.stack, TOPIC_CUSTOMER_CHANGES, key_prefix=f"{shop}/".encode(), count=2)
    assert [(ch["customer_id"], ch["tier_from"], ch["tier_to"]) for ch in changes] == [
        (str(c), None, "VIP"),
        (str(c), "VIP", None),
    ]
    assert changes[0]["tags_add"] == ["VIP"] and changes[1]["tags_remove"] == ["VIP"]


async def _not_vip(client: redis.Redis, shop: str, customer_id: int) -> bool:
    return str(customer_id) not in await vips(client, shop)


async def test_vip_drops_off_after_a_year_without_purchase(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    c = next_id()
    # The last order turns 365 days old a few seconds from now: VIP first, then the timer drops it.
    orders = [placed(c, "10.00", ago=timedelta(days=365) - timedelta(seconds=4)) for _ in range(3)]
    await produce_webhooks(services.stack, [(ORDERS_CREATE, shop, o) for o in orders])
    await eventually(lambda: _vip(redis_client, shop, c, orders_count=3))
    await eventually(lambda: _not_vip(redis_client, shop, c), timeout=30)
    changes = await consume(services.stack, TOPIC_CUSTOMER_CHANGES, key_prefix=f"{shop}/".encode(), count=2)
    assert [ch["tier_to"] for ch in changes] == ["VIP", None]


async def test_orders_and_net_revenue_per_day_count_each_order_once(
    services: Services, redis_client: redis.Redis, shop: str
) -> None:
    c, other = next_id(), next_id()
    today, yesterday = (placed(c, "30.00"), placed(other, "12.50", ago=timedelta(days=1)))
    kept, cancelled = placed(c, "20.00", ago=timedelta(days=1)), placed(other, "8.00")
    old = placed(c, "99.00", ago=timedelta(days=60))  # older than the chart keeps
    events = [(ORDERS_CREATE, shop, o) for o in (today, yesterday, kept, cancelled, old)]
    events += [
        (ORDERS_CREATE, shop, today),  # a duplicate delivery
        (ORDERS_CANCELLED, shop, edited(cancelled, minutes=1, cancelled_at=datetime.now(UTC).isoformat())),
        (REFUNDS_CREATE, shop, refund(kept, "5.25")),  # lowers the day the order was placed
    ]
    await produce_webhooks(services.stack, events)
    now = datetime.now(UTC)
    expected = [(now.date() - timedelta(days=1), 2, Decimal("27.25")), (now.date(), 1, Decimal("30.00"))]

    async def days() -> list | None:
        got = [(d.day, d.orders, d.net) for d in await read_days(redis_client, shop, now.date(), 2)]
        return got if got == expected else None

    await eventually(days, what="the last two days' totals")
    assert sum(d.orders for d in await read_days(redis_client, shop, now.date(), 90)) == 3
    # A redacted customer leaves the chart: what their orders added goes with them.
    orders = [yesterday["id"], cancelled["id"]]
    await produce_webhooks(services.stack, [(CUSTOMERS_REDACT, shop, customers_redact(shop, other, orders))])
    expected = [(now.date() - timedelta(days=1), 1, Decimal("14.75")), (now.date(), 1, Decimal("30.00"))]
    await eventually(days, what="the days without the redacted customer")
