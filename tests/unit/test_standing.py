"""RFM segments and VIP tiers from per-shop settings."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storepulse.contracts import ShopSettings, TierRule
from streams.domain.customer_state import CustomerState
from streams.domain.rfm import score, segment_of
from streams.domain.standing import refresh

NOW = datetime(2026, 11, 21, tzinfo=UTC)
SHOP = "s.myshopify.com"


def customer(orders: int, net: str, days_ago: float) -> CustomerState:
    last_order_at = (NOW - timedelta(days=days_ago)).isoformat()
    return CustomerState(
        SHOP, "7", orders_count=orders, total_spent=net, net_spent=net, last_order_at=last_order_at
    )


def test_scores_follow_the_shop_thresholds() -> None:
    rfm = ShopSettings(shop=SHOP).rfm
    assert score(rfm, 10, 12, Decimal(1500))[:3] == (5, 5, 5)
    assert score(rfm, 100, 3, Decimal(200))[:3] == (3, 3, 3)
    assert score(rfm, 400, 1, Decimal(10))[:3] == (1, 1, 1)
    assert score(rfm, None, 0, Decimal(0))[:3] == (1, 1, 1)
    strict = rfm.model_copy(update={"frequency": [100, 50, 20, 10]})
    assert score(strict, 10, 12, Decimal(1500)).frequency == 2


def test_every_score_combination_has_a_segment() -> None:
    names = {segment_of(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert {"champions", "loyal", "potential loyalist", "at risk", "hibernating", "lost"} <= names
    assert segment_of(5, 5, 5) == "champions"
    assert segment_of(1, 1, 1) == "lost"
    assert segment_of(1, 5, 5) == "cannot lose them"
    assert segment_of(5, 1, 1) == "new customers"


def test_vip_at_three_orders_potential_at_two() -> None:
    settings = ShopSettings(shop=SHOP)
    two = customer(2, "40.00", 1)
    assert refresh(two, settings, NOW) is None
    assert (two.tier, two.potential_tier) == (None, "VIP")
    three = customer(3, "60.00", 1)
    change = refresh(three, settings, NOW)
    assert change.tier_to == "VIP" and change.tags_add == ["VIP"] and change.tags_remove == []
    assert refresh(three, settings, NOW) is None  # no change, no event


def test_dropoff_loses_the_tier() -> None:
    settings = ShopSettings(shop=SHOP, vip_dropoff_days=30)
    state = customer(5, "100.00", 10)
    refresh(state, settings, NOW)
    change = refresh(state, settings, NOW + timedelta(days=25))
    assert change.tier_from == "VIP" and change.tier_to is None and change.tags_remove == ["VIP"]


def test_highest_tier_met_wins_and_spend_alone_qualifies() -> None:
    settings = ShopSettings(
        shop=SHOP,
        tiers=[TierRule(), TierRule(name="Gold", tag="gold", min_orders=10, min_spent=Decimal(1000))],
    )
    state = customer(3, "50.00", 1)
    refresh(state, settings, NOW)
    state.orders_count, state.net_spent = 4, "1200.00"
    change = refresh(state, settings, NOW)
    assert (change.tier_from, change.tier_to) == ("VIP", "Gold")
    assert (change.tags_add, change.tags_remove) == (["gold"], ["VIP"])
