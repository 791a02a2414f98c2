"""An imported or hand-set tier holds a customer up until it expires; their orders still raise them."""

from datetime import UTC, datetime, timedelta

from storepulse.contracts import ShopSettings, TierRule
from streams.domain.customer_state import CustomerState, TierFloor, customer_view
from streams.domain.standing import refresh
from streams.domain.tier_floor import set_floor

NOW = datetime(2026, 11, 21, tzinfo=UTC)
SHOP = "s.myshopify.com"
TIERS = [TierRule(name="Silver", tag="Silver", min_orders=2), TierRule(name="Gold", tag="Gold", min_orders=5)]
SETTINGS = ShopSettings(shop=SHOP, tiers=TIERS)


def customer(orders: int) -> CustomerState:
    last = (NOW - timedelta(days=1)).isoformat()
    return CustomerState(SHOP, "7", orders_count=orders, total_spent="10", net_spent="10", last_order_at=last)


def test_an_imported_tier_is_held_until_it_expires_and_tagged_like_any_change() -> None:
    state = customer(1)
    assert set_floor(state, {"tier": "Gold", "until": "2026-12-31", "source": "import:1"})
    change = refresh(state, SETTINGS, NOW)
    assert (change.tier_from, change.tier_to, change.tags_add) == (None, "Gold", ["Gold"])
    assert refresh(state, SETTINGS, datetime(2026, 12, 31, 23, tzinfo=UTC)) is None  # the last day holds
    expired = refresh(state, SETTINGS, datetime(2027, 1, 1, tzinfo=UTC))
    assert (expired.tier_from, expired.tier_to, expired.tags_remove) == ("Gold", None, ["Gold"])


def test_what_the_customer_earns_still_raises_them_above_the_floor() -> None:
    state = customer(6)
    set_floor(state, {"tier": "Silver"})
    refresh(state, SETTINGS, NOW)
    assert state.tier == "Gold"
    state.orders_count = 0
    refresh(state, SETTINGS, NOW)
    assert state.tier == "Silver"  # for good: no `until`


def test_setting_the_same_floor_again_changes_nothing_and_null_removes_it() -> None:
    state = customer(0)
    assert set_floor(state, {"tier": "Gold", "until": None, "source": "import:1"})
    assert not set_floor(state, {"tier": "Gold", "until": None, "source": "import:2"})
    assert customer_view(state)["tier_floor"] == {
        "tier": "Gold",
        "until": None,
        "source": "import:1",
        "set_at": None,
    }
    assert set_floor(state, {"tier": None})
    assert state.tier_floor is None and not set_floor(state, {"tier": None})


def test_a_floor_naming_a_tier_the_shop_no_longer_has_holds_no_one() -> None:
    state = customer(0)
    state.tier_floor = TierFloor("Platinum")
    assert refresh(state, SETTINGS, NOW) is None and state.tier is None
