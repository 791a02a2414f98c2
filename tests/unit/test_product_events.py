from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from loadtests.payloads import CATALOG, order
from shopify.topics import ORDERS_CREATE, ORDERS_UPDATED
from storepulse.beacon_records import batch_value
from storepulse.contracts import Beacon
from streams.agents.trends import order_pseudonym, product_purchases
from streams.agents.viewers import page_views

SHOP = "demo.myshopify.com"
KEY = b"k" * 32


def _envelope(payload, topic=ORDERS_CREATE):
    return {"shop": SHOP, "topic": topic, "received_at": "2026-11-21T12:00:00+00:00", "payload": payload}


def test_an_order_is_rekeyed_once_per_distinct_product() -> None:
    o = order(product=CATALOG[0])
    o["line_items"] += [dict(o["line_items"][0]), {**o["line_items"][0], "product_id": CATALOG[1][0]}]
    purchases = product_purchases(_envelope(o), KEY)
    assert [key for key, _ in purchases] == [
        f"{SHOP}/{CATALOG[0][0]}".encode(),
        f"{SHOP}/{CATALOG[1][0]}".encode(),
    ]
    _, first = purchases[0]
    assert first["order"] == order_pseudonym(str(o["id"]), KEY) and first["product_id"] == str(CATALOG[0][0])
    assert first["at"] == datetime.fromisoformat(o["created_at"]).timestamp()


def test_only_new_orders_with_products_count() -> None:
    o = order()
    assert product_purchases(_envelope(o, topic=ORDERS_UPDATED), KEY) == []
    o["line_items"] = []
    assert product_purchases(_envelope(o), KEY) == []


def test_purchases_name_no_order() -> None:
    o = order(product=CATALOG[0])
    [(_, purchase)] = product_purchases(_envelope(o), KEY)
    assert str(o["id"]) not in str(purchase)
    assert purchase["order"] != order_pseudonym(str(o["id"]), b"another key, another digest")


def test_only_product_page_views_count_as_viewers() -> None:
    now = datetime.now(UTC)
    view = Beacon(shop=SHOP, type="page_view", visitor="v" * 12, product_id="7001", received_at=now)
    assert page_views(view.model_dump_json().encode()) == [view]  # a record of one, as before batches
    click = view.model_copy(update={"type": "click"})
    home = view.model_copy(update={"product_id": None})
    batch = batch_value([b.model_dump_json().encode() for b in (click, view, home, view)])
    assert page_views(batch) == [view, view]


def test_a_record_that_is_no_beacon_is_an_error_not_a_skip() -> None:
    """So the viewers agent dead-letters it with the reason."""
    with pytest.raises(ValidationError):
        page_views(b"not json")
