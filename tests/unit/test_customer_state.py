"""The customer state as the changelog stores it: today's field names, and values stored before types."""

from datetime import UTC, datetime

import orjson
from faust.serializers import codecs

from shopify.topics import ORDERS_CANCELLED, ORDERS_CREATE, ORDERS_DELETE, ORDERS_UPDATED, REFUNDS_CREATE
from storepulse.contracts import ShopSettings
from streams.domain.customer_metrics import apply_event
from streams.domain.customer_state import CustomerState, OrderEntry, customer_view, decode_state
from streams.domain.standing import refresh
from streams.runtime.batches import EventBatch

SHOP = "old.myshopify.com"
REFRESHED = datetime(2026, 1, 10, tzinfo=UTC)


def order(oid: int, total: str, day: int, *, edit: int = 0, cancelled: bool = False) -> dict:
    created = f"2026-01-0{day}T10:00:00+00:00"
    return {
        "id": oid,
        "created_at": created,
        "updated_at": f"2026-01-0{day}T10:{edit:02d}:00+00:00",
        "total_price": total,
        "currency": "EUR",
        "cancelled_at": created if cancelled else None,
        "customer": {"id": 7},
    }


def refund(rid: int, oid: int, amount: str) -> dict:
    transaction = {"kind": "refund", "status": "success", "amount": amount}
    return {"id": rid, "order_id": oid, "transactions": [transaction]}


# Counted orders, a refund, a refund ahead of its order, a cancellation and a delete.
EARLIER = [
    (ORDERS_CREATE, order(1, "10.00", 1)),
    (ORDERS_CREATE, order(2, "25.50", 3)),
    (REFUNDS_CREATE, refund(91, 2, "5.50")),
    (REFUNDS_CREATE, refund(92, 4, "1.00")),
    (ORDERS_CREATE, order(3, "7.00", 4)),
    (ORDERS_CANCELLED, order(3, "7.00", 4, edit=5, cancelled=True)),
    (ORDERS_CREATE, order(5, "3.00", 5)),
    (ORDERS_DELETE, {"id": 5}),
]

# What the worker stored after EARLIER (refreshed on REFRESHED) before the state had types.
OLD_VALUE = b"""{
  "shop": "old.myshopify.com", "customer_id": "7", "orders_count": 2, "total_spent": "35.50",
  "net_spent": "30.00", "average_order_value": "15.00", "currency": "EUR",
  "first_order_at": "2026-01-01T10:00:00+00:00", "last_order_at": "2026-01-03T10:00:00+00:00",
  "days_since_last_order": 6,
  "orders": {
    "1": {"t": "10.00", "c": "2026-01-01T10:00:00+00:00", "u": "2026-01-01T10:00:00+00:00", "r": {},
          "cur": "EUR"},
    "2": {"t": "25.50", "c": "2026-01-03T10:00:00+00:00", "u": "2026-01-03T10:00:00+00:00",
          "r": {"91": "5.50"}, "cur": "EUR"},
    "4": {"r": {"92": "1.00"}},
    "3": {"t": "7.00", "c": "2026-01-04T10:00:00+00:00", "u": "2026-01-04T10:05:00+00:00", "r": {},
          "x": 1, "cur": "EUR"},
    "5": {"d": 1}
  },
  "rfm": {"recency": 5, "frequency": 2, "monetary": 1},
  "segment": "potential loyalist", "tier": null, "potential_tier": "VIP"
}"""

# A re-delivery, the order the early refund was for, an un-cancel, an update of a deleted order.
LATER = [
    (ORDERS_CREATE, order(2, "25.50", 3)),
    (ORDERS_CREATE, order(4, "12.00", 6)),
    (ORDERS_UPDATED, order(3, "7.00", 4, edit=9)),
    (ORDERS_UPDATED, order(5, "3.00", 5, edit=9)),
]


def replayed(events: list[tuple[str, dict]], state: CustomerState | None = None) -> CustomerState:
    state = state or CustomerState(SHOP, "7")
    for topic, payload in events:
        apply_event(state, topic, payload)
    refresh(state, ShopSettings(shop=SHOP), REFRESHED)
    return state


def test_a_value_stored_before_types_reads_back_with_the_same_metrics() -> None:
    old = orjson.loads(OLD_VALUE)
    state = decode_state(old)
    # The admin API's JSON: the same fields, values and order as the old value shows (and no tier
    # floor: there were none then).
    shown = {**{k: v for k, v in old.items() if k != "orders"}, "tier_floor": None}
    assert orjson.dumps(customer_view(state)) == orjson.dumps(shown)
    assert state == replayed(EARLIER)
    assert state.orders["4"] == OrderEntry(refunds={"92": "1.00"})
    assert state.orders["3"].cancelled and state.orders["5"].deleted


def test_events_after_an_old_value_count_as_if_all_had_been_applied_now() -> None:
    continued = replayed(LATER, decode_state(orjson.loads(OLD_VALUE)))
    assert continued == replayed(EARLIER + LATER)
    assert (continued.orders_count, continued.total_spent, continued.net_spent) == (4, "54.50", "48.00")


def test_the_changelog_value_names_its_fields_and_reads_back_unchanged() -> None:
    state = replayed(EARLIER + LATER)
    stored = codecs.dumps("json", state)  # what Faust writes to the changelog
    assert b'"refunds":{"92":"1.00"}' in stored and b'"deleted":true' in stored
    assert decode_state(orjson.loads(stored)) == state


def test_a_staged_read_is_a_customer_state_whose_changes_leave_the_table_alone() -> None:
    table = {b"old.myshopify.com/7": replayed(EARLIER)}
    state = EventBatch([]).staged(table)[b"old.myshopify.com/7"]
    replayed(LATER, state)  # a step changes the state it read in place
    assert isinstance(state, CustomerState) and state == replayed(EARLIER + LATER)
    assert table[b"old.myshopify.com/7"] == replayed(EARLIER)
