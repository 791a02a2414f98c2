"""The chaos run's schedule replays from its seed, and its checks catch what they look for."""

from __future__ import annotations

import random
from decimal import Decimal

from loadtests.chaos_faults import FAULT_KINDS, schedule
from loadtests.chaos_load import Ledger, Placed
from loadtests.chaos_watch import Storefront, check_notifications, check_storefronts, mismatches

SHOP = "a.myshopify.com"


def test_a_seed_replays_its_fault_schedule_and_every_kind_comes_as_often_as_asked() -> None:
    first, again = (schedule(random.Random(5), 120, 2) for _ in range(2))
    assert first == again
    assert schedule(random.Random(6), 120, 2) != first
    assert sorted(f.kind for f in first) == sorted(FAULT_KINDS * 2)
    assert [f.at_s for f in first] == sorted(f.at_s for f in first) and first[-1].at_s < 120 * 0.8


def _stream(*ids: str) -> list[tuple[str, dict]]:
    return [(f"{i + 1}-0", {"id": n, "kind": "purchase"}) for i, n in enumerate(ids)]


def test_notifications_doubled_missing_or_unexpected_are_each_counted() -> None:
    assert check_notifications({SHOP: {"a", "b"}}, {SHOP: _stream("a", "b")}).exact
    check = check_notifications({SHOP: {"a", "b", "c"}}, {SHOP: _stream("a", "a", "b", "z")})
    counts = (check.expected, check.delivered, check.duplicated, check.missing, check.unexpected)
    assert counts == (3, 2, 1, 1, 1)
    assert not check.exact


def test_a_storefront_must_get_every_event_once_and_in_order() -> None:
    streams = {SHOP: _stream("a", "b", "c")}
    front = Storefront("http://x")
    front.received = ["1-0", "2-0", "3-0"]
    assert check_storefronts({SHOP: front}, streams).exact
    front.received = ["1-0", "3-0", "2-0", "3-0"]
    check = check_storefronts({SHOP: front}, streams)
    assert (check.duplicated, check.missing, check.out_of_order) == (1, 0, 1)
    front.received = ["1-0", "3-0"]
    assert check_storefronts({SHOP: front}, streams).missing == 1


def _version(total: str, updated: str, cancelled: bool = False) -> dict:
    return {
        "total_price": total,
        "updated_at": f"2026-01-01T00:00:{updated}+00:00",
        "cancelled_at": "x" if cancelled else None,
    }


def test_expected_metrics_take_each_orders_newest_version_and_its_refunds() -> None:
    ledger = Ledger()
    # Sent newest first, then an older update that arrived last.
    versions = [_version("10.00", "00"), _version("30.00", "20"), _version("20.00", "10")]
    ledger.orders[1] = Placed(SHOP, 9, versions)
    ledger.orders[1].refunds = {5: Decimal("2.50")}
    ledger.orders[2] = Placed(SHOP, 9, [_version("7.00", "00"), _version("7.00", "10", cancelled=True)])
    ledger.orders[3] = Placed(SHOP, 9)  # its create was never accepted
    expected = ledger.expected_metrics()
    assert expected == {(SHOP, 9): (1, Decimal("30.00"), Decimal("27.50"))}
    assert mismatches(expected, {(SHOP, 9): (1, Decimal("30.00"), Decimal("27.50"))}) == 0
    assert mismatches(expected, {(SHOP, 9): (1, Decimal("30.00"), Decimal("27.49"))}) == 1
    assert mismatches(expected, {}) == 1
