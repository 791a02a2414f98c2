"""Customer metrics from order events: exact under duplicates, reordering, cancels, refunds, deletes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shopify.topics import ORDERS_CANCELLED, ORDERS_CREATE, ORDERS_DELETE, ORDERS_UPDATED, REFUNDS_CREATE
from streams.domain.customer_metrics import apply_event, ledger_orders
from streams.domain.customer_state import CustomerState, customer_view

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def order(oid: int, total: str, *, day: int = 0, edit: int = 0, cancelled: bool = False) -> dict:
    created = T0 + timedelta(days=day)
    return {
        "id": oid,
        "created_at": created.isoformat(),
        "updated_at": (created + timedelta(minutes=edit)).isoformat(),
        "total_price": total,
        "currency": "EUR",
        "cancelled_at": (created + timedelta(minutes=edit)).isoformat() if cancelled else None,
        "customer": {"id": 7},
    }


def refund(rid: int, oid: int, amount: str) -> dict:
    return {
        "id": rid,
        "order_id": oid,
        "transactions": [{"kind": "refund", "status": "success", "amount": amount}],
    }


def run(*events: tuple[str, dict]) -> CustomerState:
    state = CustomerState("s.myshopify.com", "7")
    for topic, payload in events:
        apply_event(state, topic, payload)
    return state


def test_counts_orders_and_sums_exact_decimals() -> None:
    s = run((ORDERS_CREATE, order(1, "0.10", day=3)), (ORDERS_CREATE, order(2, "0.20", day=1)))
    assert (s.orders_count, s.total_spent, s.net_spent) == (2, "0.30", "0.30")
    assert s.average_order_value == "0.15" and s.currency == "EUR"
    assert s.first_order_at == order(2, "0", day=1)["created_at"]
    assert s.last_order_at == order(1, "0", day=3)["created_at"]


def test_duplicates_change_nothing() -> None:
    once = run((ORDERS_CREATE, order(1, "10.00")), (REFUNDS_CREATE, refund(9, 1, "4.00")))
    again = run(
        *[(ORDERS_CREATE, order(1, "10.00"))] * 3,
        *[(REFUNDS_CREATE, refund(9, 1, "4.00"))] * 3,
    )
    assert customer_view(again) == customer_view(once)
    assert once.net_spent == "6.00"


def test_an_older_update_does_not_regress_state() -> None:
    s = run((ORDERS_UPDATED, order(1, "30.00", edit=10)), (ORDERS_UPDATED, order(1, "99.00", edit=5)))
    assert s.total_spent == "30.00"
    s = run((ORDERS_CREATE, order(1, "10.00")), (ORDERS_UPDATED, order(1, "12.50", edit=1)))
    assert s.total_spent == "12.50" and s.orders_count == 1


def test_cancellation_and_delete_subtract_and_move_last_order() -> None:
    s = run(
        (ORDERS_CREATE, order(1, "10.00", day=1)),
        (ORDERS_CREATE, order(2, "20.00", day=5)),
        (ORDERS_CANCELLED, order(2, "20.00", day=5, edit=3, cancelled=True)),
    )
    assert (s.orders_count, s.total_spent) == (1, "10.00")
    assert s.last_order_at == order(1, "0", day=1)["created_at"]
    s = run(
        (ORDERS_CREATE, order(1, "10.00")),
        (ORDERS_DELETE, {"id": 1}),
        (ORDERS_UPDATED, order(1, "10.00", edit=9)),
    )
    assert (s.orders_count, s.total_spent, s.last_order_at) == (0, "0.00", None)


def test_refund_before_its_order_counts_once_the_order_arrives() -> None:
    s = run((REFUNDS_CREATE, refund(9, 1, "2.50")), (ORDERS_CREATE, order(1, "10.00")))
    assert (s.orders_count, s.total_spent, s.net_spent) == (1, "10.00", "7.50")


def test_refunds_listed_on_an_order_update_are_not_counted_twice() -> None:
    updated = order(1, "10.00", edit=2) | {"refunds": [refund(9, 1, "3.00")]}
    s = run(
        (ORDERS_CREATE, order(1, "10.00")),
        (REFUNDS_CREATE, refund(9, 1, "3.00")),
        (ORDERS_UPDATED, updated),
    )
    assert s.net_spent == "7.00"


def test_the_ledger_lists_orders_newest_first_with_their_status() -> None:
    s = run(
        (ORDERS_CREATE, order(1, "10.00", day=1)),
        (ORDERS_CREATE, order(2, "20.00", day=2)),
        (REFUNDS_CREATE, refund(9, 2, "5.00")),
        (ORDERS_CREATE, order(3, "30.00", day=3)),
        (REFUNDS_CREATE, refund(10, 3, "30.00")),
        (ORDERS_CANCELLED, order(4, "40.00", day=4, cancelled=True)),
        (ORDERS_CREATE, order(5, "50.00", day=5)),
        (ORDERS_DELETE, {"id": 5}),
        (REFUNDS_CREATE, refund(11, 6, "1.00")),  # its order has not arrived
    )
    assert [(o["id"], o["status"], o["refunded"]) for o in ledger_orders(s)] == [
        ("4", "cancelled", "0"),
        ("3", "refunded", "30.00"),
        ("2", "partially refunded", "5.00"),
        ("1", "open", "0"),
    ]
    first = ledger_orders(s)[-1]
    assert first == {
        "id": "1",
        "created_at": order(1, "0", day=1)["created_at"],
        "total": "10.00",
        "refunded": "0",
        "refunds": 0,
        "cancelled": False,
        "status": "open",
    }


def test_shop_money_is_preferred_over_presentment_total() -> None:
    o = order(1, "12.00") | {"total_price_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}}}
    s = run((ORDERS_CREATE, o))
    assert (s.total_spent, s.currency) == ("10.00", "USD")


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just(ORDERS_UPDATED), st.integers(1, 4), st.integers(0, 5)),
        st.tuples(st.just(REFUNDS_CREATE), st.integers(1, 4), st.integers(1, 3)),
        st.tuples(st.just(ORDERS_DELETE), st.integers(1, 4), st.just(0)),
    ),
    max_size=25,
)


def _cancelled(oid: int, n: int) -> bool:
    # Each version (edit n) of an order is one fixed payload; some versions are cancellations.
    return (oid + n) % 4 == 0


def _payload(kind: str, oid: int, n: int) -> dict:
    if kind == ORDERS_UPDATED:
        return order(oid, f"{oid * 10}.{n}0", edit=n, cancelled=_cancelled(oid, n))
    if kind == REFUNDS_CREATE:
        return refund(oid * 100 + n, oid, f"{n}.00")
    return {"id": oid}


def _expected(events: list) -> tuple[int, Decimal, Decimal]:
    """Order-independent truth: latest edit per order, refunds by id, deletes win."""
    latest: dict[int, int] = {}
    refunds: dict[int, dict[int, int]] = {}
    deleted = set()
    for kind, oid, n in events:
        if kind == ORDERS_UPDATED and n > latest.get(oid, -1):
            latest[oid] = n
        elif kind == REFUNDS_CREATE:
            refunds.setdefault(oid, {})[n] = n
        elif kind == ORDERS_DELETE:
            deleted.add(oid)
    count, total, net = 0, Decimal(0), Decimal(0)
    for oid, n in latest.items():
        if oid in deleted or _cancelled(oid, n):
            continue
        t = Decimal(f"{oid * 10}.{n}0")
        count, total, net = count + 1, total + t, net + t - sum(refunds.get(oid, {}).values())
    return count, total, net


@settings(max_examples=300, deadline=None)
@given(EVENTS, st.randoms())
def test_any_order_any_duplicates_gives_the_same_exact_totals(events, rnd) -> None:
    shuffled = [e for e in events for _ in range(rnd.randint(1, 2))]
    rnd.shuffle(shuffled)
    # Deletes are final in Shopify: nothing about an order follows its delete.
    shuffled = [e for e in shuffled if e[0] != ORDERS_DELETE] + [e for e in shuffled if e[0] == ORDERS_DELETE]
    s = run(*[(k, _payload(k, oid, n)) for k, oid, n in shuffled])
    count, total, net = _expected(events)
    assert s.orders_count == count
    assert Decimal(s.total_spent) == total and Decimal(s.net_spent) == net
