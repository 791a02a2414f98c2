from streams.domain.windows import (
    MAX_VIEWERS,
    PURCHASE_WINDOW_S,
    VIEW_ANNOUNCE_EVERY_S,
    VIEW_WINDOW_S,
    VISITORS_ANNOUNCE_EVERY_S,
    Crossing,
    record_cart,
    record_purchase,
    record_view,
    record_visit,
)

T0 = 1_800_000_000.0
THRESHOLDS = [3, 5]


def _buy(state, order_id, at, now=None, thresholds=THRESHOLDS):
    return record_purchase(state, order_id, at, now if now is not None else at, thresholds)


def test_crossing_a_threshold_is_announced_once() -> None:
    state, announced = None, []
    for i in range(6):
        state, crossing = _buy(state, f"o{i}", T0 + i)
        announced.append(crossing)
    assert announced == [None, None, Crossing(3, 3), None, Crossing(5, 5), None]


def test_a_redelivered_order_changes_nothing() -> None:
    state, _ = _buy(None, "o1", T0)
    state, _ = _buy(state, "o2", T0 + 1)
    assert _buy(state, "o1", T0 + 2) is None
    state, crossing = _buy(state, "o3", T0 + 3)
    assert crossing == Crossing(3, 3)


def test_orders_older_than_a_day_are_not_counted_and_expire() -> None:
    assert _buy(None, "late", T0 - PURCHASE_WINDOW_S - 1, now=T0) is None
    state, _ = _buy(None, "o1", T0)
    state, _ = _buy(state, "o2", T0 + 1)
    later = T0 + PURCHASE_WINDOW_S + 0.5  # o1 has left the window, o2 has not
    state, crossing = _buy(state, "o3", later)
    assert crossing is None and sorted(state["orders"]) == ["o2", "o3"]
    state, crossing = _buy(state, "o4", later + 0.2)
    assert crossing == Crossing(3, 3)


def test_a_threshold_is_announced_again_only_after_its_window() -> None:
    state = None
    for i in range(3):
        state, crossing = _buy(state, f"a{i}", T0 + i)
    assert crossing == Crossing(3, 3)
    next_day = T0 + PURCHASE_WINDOW_S + 10
    for i in range(3):
        state, crossing = _buy(state, f"b{i}", next_day + i)
    assert crossing == Crossing(3, 3)


def test_lowered_thresholds_announce_only_the_highest_reached() -> None:
    state = None
    for i in range(4):
        state, _ = _buy(state, f"o{i}", T0 + i, thresholds=[10])
    state, crossing = _buy(state, "o4", T0 + 4, thresholds=[2, 3, 10])
    assert crossing == Crossing(3, 5)
    state, crossing = _buy(state, "o5", T0 + 5, thresholds=[2, 3, 10])
    assert crossing is None


def test_state_is_bounded_by_the_highest_threshold() -> None:
    state = None
    for i in range(20):
        state, _ = _buy(state, f"o{i}", T0 + i)
    assert len(state["orders"]) == max(THRESHOLDS)
    assert _buy(None, "o", T0, thresholds=[]) is None


def test_two_distinct_viewers_are_announced_at_most_once_a_minute() -> None:
    state, count = record_view(None, "v1", T0, 2)
    assert count is None
    state, count = record_view(state, "v1", T0 + 1, 2)
    assert count is None  # the same visitor twice is one person
    state, count = record_view(state, "v2", T0 + 2, 2)
    assert count == 2
    state, count = record_view(state, "v3", T0 + 3, 2)
    assert count is None  # within the minute
    state, count = record_view(state, "v4", T0 + 2 + VIEW_ANNOUNCE_EVERY_S, 2)
    assert count == 4


def test_viewers_leave_the_window_after_five_minutes() -> None:
    state, _ = record_view(None, "v1", T0, 2)
    state, count = record_view(state, "v2", T0 + VIEW_WINDOW_S + 1, 2)
    assert count is None and list(state["visitors"]) == ["v2"]


def test_a_redelivered_page_view_announces_nothing() -> None:
    state, _ = record_view(None, "v1", T0, 2)
    state, count = record_view(state, "v2", T0 + 1, 2)
    assert count == 2
    assert record_view(state, "v2", T0 + 1, 2) == (state, None)


def test_viewer_state_is_bounded() -> None:
    state = None
    for i in range(MAX_VIEWERS + 5):
        state, _ = record_view(state, f"v{i}", T0 + i * 0.01, 10**6)
    assert len(state["visitors"]) == MAX_VIEWERS


def test_carts_are_counted_once_each_over_30_minutes_and_announced_at_most_every_10() -> None:
    state, count = record_cart(None, "cart-a", 0, 2)
    assert count is None
    state, count = record_cart(state, "cart-a", 60, 2)
    assert count is None  # the same cart again
    state, count = record_cart(state, "cart-b", 120, 2)
    assert count == 2
    state, count = record_cart(state, "cart-c", 300, 2)
    assert count is None  # announced 3 minutes ago
    state, count = record_cart(state, "cart-d", 120 + 600, 2)
    assert count == 4
    # 30 minutes after the first two were last seen, they no longer count.
    state, count = record_cart(state, "cart-e", 120 + 1800 + 1, 2)
    assert count == 3
    assert sorted(state["visitors"]) == ["cart-c", "cart-d", "cart-e"]


def test_store_visitors_are_announced_once_in_five_minutes_and_only_when_the_count_moved() -> None:
    state = None
    for i in range(20):
        state, count = record_visit(state, f"v{i}", T0, 20)
    assert count == 20
    state, count = record_visit(state, "v20", T0 + 1, 20)
    assert count is None  # within the five minutes
    later = T0 + VISITORS_ANNOUNCE_EVERY_S
    state, count = record_visit(state, "v0", later, 20)
    assert count is None  # 21 is not news after 20: a tenth of 20 is 2
    assert state["count"] == 20 and state["announced"] == T0
    state, count = record_visit(state, "v21", later, 20)
    assert count == 22 and state["count"] == 22 and state["announced"] == later
    assert record_visit(state, "v21", later, 20) == (state, None)  # a re-delivered page view
