"""The demo shop's simulated customers, through the real metrics, standing and notification rules."""

import random
from collections import Counter
from datetime import UTC, datetime

import orjson

from loadtests.simulator import REGULARS, STOPPED, next_buyer, past_orders
from shopify.topics import ORDERS_CREATE
from storepulse.contracts import ShopSettings
from streams.domain.customer_metrics import apply_event
from streams.domain.customer_state import CustomerState
from streams.domain.notifications import purchase_notification
from streams.domain.standing import refresh

SHOP = "demo-store.myshopify.com"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RULES = ShopSettings(shop=SHOP)


def _standings(seed: int) -> list[CustomerState]:
    """Every customer of the shop's past as the worker keeps them."""
    rng = random.Random(seed)
    customers: dict[str, CustomerState] = {}
    for cohort in (REGULARS, *STOPPED):
        for hook in past_orders(SHOP, cohort, rng, NOW)[1]:
            payload = orjson.loads(hook.body)
            customer_id = str(payload["customer"]["id"])
            state = customers.setdefault(customer_id, CustomerState(SHOP, customer_id))
            apply_event(state, ORDERS_CREATE, payload)
    for state in customers.values():
        refresh(state, RULES, NOW)
    return list(customers.values())


def test_the_past_shows_no_toast() -> None:
    rng = random.Random(1)
    for cohort in (REGULARS, *STOPPED):
        for hook in past_orders(SHOP, cohort, rng, NOW)[1]:
            payload = orjson.loads(hook.body)
            assert purchase_notification(SHOP, payload, now=NOW, rules=RULES, catalog={}) is None


def test_the_past_has_vips_and_customers_at_risk_whatever_the_draw() -> None:
    for seed in range(20):
        standings = _standings(seed)
        segments = Counter(s.segment for s in standings)
        assert segments["at risk"] >= STOPPED[0].size, segments
        assert segments["lost"] >= 1, segments
        assert any(s.tier == "VIP" for s in standings)


def test_a_few_customers_come_back_often_and_newcomers_keep_arriving() -> None:
    rng = random.Random(3)
    regulars = past_orders(SHOP, REGULARS, rng, NOW)[0]
    known = len(regulars)
    buyers = Counter(next_buyer(regulars, rng).id for _ in range(400))
    newcomers = len(regulars) - known
    assert 0.15 < newcomers / 400 < 0.35
    # Repeat buying is skewed: the busiest tenth of the buyers place a third or more of the orders.
    busiest = sum(count for _, count in buyers.most_common(len(buyers) // 10))
    assert busiest / 400 > 1 / 3, buyers.most_common(5)
