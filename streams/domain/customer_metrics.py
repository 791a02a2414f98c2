"""Per-customer lifetime metrics, exact under duplicates, reordering, cancels, refunds and deletes.

The state keeps a small ledger entry per order (`CustomerState.orders`): its shop-currency total,
created and last applied `updated_at`, cancelled/deleted flags and the refunds seen by id. Applying
any event is a merge into that ledger, so a re-delivered or older event changes nothing, and the
totals move by the difference one order's contribution made.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shopify.topics import ORDERS_DELETE, REFUNDS_CREATE, WHOLE_ORDER
from storepulse.envelope import ORDERS_BACKFILL
from streams.domain.customer_state import CustomerState, OrderEntry
from streams.domain.fields import money, parse_time

# Topics whose payload is a whole order: Shopify's, and what the backfill produces.
FULL_ORDER_TOPICS = WHOLE_ORDER | {ORDERS_BACKFILL}


def ledger_orders(state: CustomerState) -> list[dict[str, Any]]:
    """The customer's orders as the ledger knows them, newest first (deleted ones, and refunds
    whose order has not arrived yet, are left out)."""
    orders = []
    for order_id, entry in state.orders.items():
        if entry.deleted or entry.total is None:
            continue
        total = Decimal(entry.total)
        refunded = sum((Decimal(a) for a in entry.refunds.values()), Decimal(0))
        if entry.cancelled:
            status = "cancelled"
        elif refunded and refunded >= total:
            status = "refunded"
        else:
            status = "partially refunded" if refunded else "open"
        orders.append(
            {
                "id": order_id,
                "created_at": entry.created_at,
                "total": str(total),
                "refunded": str(refunded),
                "refunds": len(entry.refunds),
                "cancelled": entry.cancelled,
                "status": status,
            }
        )
    orders.sort(key=lambda o: parse_time(o["created_at"]) or datetime.min.replace(tzinfo=UTC), reverse=True)
    return orders


def owner_of(topic: str, payload: dict[str, Any]) -> str | None:
    """The customer id an event names, or None (guest orders, refunds and deletes name none)."""
    if topic not in FULL_ORDER_TOPICS:
        return None
    customer = payload.get("customer")
    owner = customer.get("id") if isinstance(customer, dict) else None
    return str(owner) if owner is not None else None


def order_id_of(topic: str, payload: dict[str, Any]) -> str | None:
    raw = payload.get("order_id") if topic == REFUNDS_CREATE else payload.get("id")
    return str(raw) if raw is not None else None


def _shop_money(payload: dict[str, Any], field: str) -> tuple[Decimal, str | None]:
    """An amount in the shop currency: `{field}_set.shop_money` when present, else `{field}`."""
    money_set = payload.get(f"{field}_set")
    shop_money = money_set.get("shop_money") if isinstance(money_set, dict) else None
    if isinstance(shop_money, dict):
        return money(shop_money.get("amount")), shop_money.get("currency_code")
    return money(payload.get(field)), payload.get("currency")


def refund_amount(refund: dict[str, Any]) -> Decimal:
    """Money a refund returned: its successful refund transactions."""
    total = Decimal(0)
    for tx in refund.get("transactions") or ():
        if isinstance(tx, dict) and tx.get("kind") == "refund" and tx.get("status") in (None, "success"):
            total += _shop_money(tx, "amount")[0]
    return total


def _refunds_of(payload: dict[str, Any]) -> dict[str, str]:
    refunds = payload.get("refunds")
    if not isinstance(refunds, list):
        return {}
    return {str(r["id"]): str(refund_amount(r)) for r in refunds if isinstance(r, dict) and "id" in r}


def _contribution(entry: OrderEntry | None) -> tuple[int, Decimal, Decimal]:
    """(orders, total, net) one ledger entry adds to the customer's metrics."""
    if entry is None or entry.total is None or entry.cancelled or entry.deleted:
        return 0, Decimal(0), Decimal(0)
    total = Decimal(entry.total)
    return 1, total, total - sum((Decimal(a) for a in entry.refunds.values()), Decimal(0))


def day_share(entry: OrderEntry | None, placed: OrderEntry | None = None) -> tuple[date, int, Decimal] | None:
    """The UTC day an order was placed and what it now counts for that day (orders, net);
    `placed` is the entry before a delete, which forgets the date. None while the day is unknown."""
    created = parse_time((entry.created_at if entry else None) or (placed.created_at if placed else None))
    if created is None:
        return None
    orders, _, net = _contribution(entry)
    return created.astimezone(UTC).date(), orders, net


def _merge_order(entry: OrderEntry | None, payload: dict[str, Any]) -> OrderEntry | None:
    """The entry after a whole-order payload, or None when it is not newer than what was applied."""
    if entry is not None and entry.deleted:
        return None
    updated = parse_time(payload.get("updated_at")) or parse_time(payload.get("created_at"))
    applied = parse_time(entry.updated_at) if entry is not None else None
    if applied is not None and (updated is None or updated <= applied):
        return None
    total, currency = _shop_money(payload, "total_price")
    return OrderEntry(
        total=str(total),
        created_at=payload.get("created_at"),
        updated_at=updated.isoformat() if updated else None,
        refunds={**(entry.refunds if entry is not None else {}), **_refunds_of(payload)},
        cancelled=bool(payload.get("cancelled_at")),
        currency=currency or None,
    )


def _merge_refund(entry: OrderEntry | None, payload: dict[str, Any]) -> OrderEntry | None:
    if (entry is not None and entry.deleted) or payload.get("id") is None:
        return None
    refund_id, amount = str(payload["id"]), str(refund_amount(payload))
    refunds = entry.refunds if entry is not None else {}
    if refunds.get(refund_id) == amount:
        return None
    # A refund may arrive before its order: the entry then holds refunds only until the order does.
    return replace(entry or OrderEntry(), refunds={**refunds, refund_id: amount})


def merge_order_event(before: OrderEntry | None, topic: str, payload: dict[str, Any]) -> OrderEntry | None:
    """One order's ledger entry after an order, refund or delete event; None when it changes nothing."""
    if topic in FULL_ORDER_TOPICS:
        return _merge_order(before, payload)
    if topic == REFUNDS_CREATE:
        return _merge_refund(before, payload)
    if topic == ORDERS_DELETE:
        return None if before is not None and before.deleted else OrderEntry(deleted=True)
    return None


def order_counts(entry: OrderEntry | None) -> tuple[int, Decimal]:
    """(1, net) for an order that counts (placed, neither cancelled nor deleted), else (0, 0)."""
    orders, _, net = _contribution(entry)
    return orders, net


def has_order(state: CustomerState, order_id: str) -> bool:
    """Whether the ledger holds the order itself, not only refunds that came before it."""
    entry = state.orders.get(order_id)
    return entry is not None and entry.total is not None


def apply_event(state: CustomerState, topic: str, payload: dict[str, Any]) -> bool:
    """Apply one order, refund or delete event to `state` in place; True when anything changed."""
    order_id = order_id_of(topic, payload)
    if order_id is None:
        return False
    before = state.orders.get(order_id)
    after = merge_order_event(before, topic, payload)
    if after is None:
        return False
    state.orders[order_id] = after
    _move_totals(state, before, after)
    return True


def _move_totals(state: CustomerState, before: OrderEntry | None, after: OrderEntry) -> None:
    n0, t0, net0 = _contribution(before)
    n1, t1, net1 = _contribution(after)
    state.orders_count += n1 - n0
    state.total_spent = str(Decimal(state.total_spent) + t1 - t0)
    state.net_spent = str(Decimal(state.net_spent) + net1 - net0)
    if after.currency:
        state.currency = after.currency
    count = state.orders_count
    state.average_order_value = (
        str((Decimal(state.net_spent) / count).quantize(Decimal("0.01"))) if count else "0"
    )
    created = parse_time(after.created_at)
    if n1 and created is not None and not n0:
        first, last = parse_time(state.first_order_at), parse_time(state.last_order_at)
        if first is None or created < first:
            state.first_order_at = after.created_at
        if last is None or created > last:
            state.last_order_at = after.created_at
    elif n0 and not n1:
        _recompute_dates(state)


def _recompute_dates(state: CustomerState) -> None:
    """First/last order dates over the orders still counted (after a cancel or delete)."""
    dates = sorted(
        (created, entry.created_at)
        for entry in state.orders.values()
        if _contribution(entry)[0] and (created := parse_time(entry.created_at)) is not None
    )
    state.first_order_at = dates[0][1] if dates else None
    state.last_order_at = dates[-1][1] if dates else None


def days_since(state: CustomerState, now: datetime) -> float | None:
    """Days (fractional) since the last counted order, or None without one."""
    last = parse_time(state.last_order_at)
    return (now - last).total_seconds() / 86400 if last else None
