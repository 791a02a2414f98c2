"""Reading a bulk operation's JSONL: children put back under their parents, in file order."""

import orjson
import pytest

from ingest.backfill_bulk import CHILD_FIELDS
from ingest.backfill_orders import order_payload
from shopify.bulk import stitched


def jsonl(*objects: dict) -> list[bytes]:
    return [orjson.dumps(o) + b"\n" for o in objects]


def order(n: int, **extra: object) -> dict:
    return {
        "id": f"gid://shopify/Order/{n}",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-02T00:00:00Z",
        "cancelledAt": None,
        "customer": {"id": "gid://shopify/Customer/7"},
        "totalPriceSet": {"shopMoney": {"amount": "20.00", "currencyCode": "EUR"}},
        **extra,
    }


def refund(n: int, parent: int | None, amount: str) -> dict:
    line = {"id": f"gid://shopify/Refund/{n}", "totalRefundedSet": {"shopMoney": {"amount": amount}}}
    return line | ({"__parentId": f"gid://shopify/Order/{parent}"} if parent else {})


def test_children_join_their_parent_wherever_they_stand_in_the_file() -> None:
    lines = jsonl(
        refund(91, parent=2, amount="3.00"),  # before its parent
        order(1),
        order(2),
        refund(92, parent=1, amount="1.50"),  # after another order
        order(3),
        refund(93, parent=2, amount="2.00"),
    )
    orders = list(stitched(lambda: lines, CHILD_FIELDS))
    assert [o["id"] for o in orders] == [f"gid://shopify/Order/{n}" for n in (1, 2, 3)]
    refunds = {o["id"]: [r["id"] for r in o.get("refunds", [])] for o in orders}
    assert refunds == {
        "gid://shopify/Order/1": ["gid://shopify/Refund/92"],
        "gid://shopify/Order/2": ["gid://shopify/Refund/91", "gid://shopify/Refund/93"],
        "gid://shopify/Order/3": [],
    }
    assert all("__parentId" not in r for o in orders for r in o.get("refunds", []))


def test_a_stitched_order_is_the_payload_the_paginated_path_makes() -> None:
    inline = order(5, refunds=[refund(95, parent=None, amount="4.00")])
    as_lines = jsonl(order(5), refund(95, parent=5, amount="4.00"))
    (stitched_order,) = stitched(lambda: as_lines, CHILD_FIELDS)
    assert order_payload(stitched_order) == order_payload(inline)
    assert order_payload(stitched_order)["refunds"][0]["transactions"][0]["amount"] == "4.00"


def test_blank_lines_are_skipped_and_an_unknown_child_type_is_an_error() -> None:
    assert [o["id"] for o in stitched(lambda: [b"\n", *jsonl(order(1)), b""], CHILD_FIELDS)] == [
        "gid://shopify/Order/1"
    ]
    odd = jsonl(order(1), {"id": "gid://shopify/LineItem/1", "__parentId": "gid://shopify/Order/1"})
    with pytest.raises(ValueError, match="LineItem"):
        list(stitched(lambda: odd, CHILD_FIELDS))
