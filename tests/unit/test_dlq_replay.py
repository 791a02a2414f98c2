"""Which dead letters `storepulse dlq replay` writes again, and which it leaves as superseded."""

from storepulse.dlq_cli import REPLAYED, SUPERSEDED, DeadLetter, latest_per_customer, outcome_of
from storepulse.kafka_topics import TOPIC_CUSTOMER_CHANGES

SHOP = "dlq.myshopify.com"


def letter(offset: int, tier_to: str | None, customer: str = "7", partition: int = 0) -> DeadLetter:
    change = {
        "kind": "tier",
        "shop": SHOP,
        "customer_id": customer,
        "tier_from": None,
        "tier_to": tier_to,
        "tags_add": [tier_to] if tier_to else [],
        "tags_remove": [],
        "reason": "no access token (shop not installed)",
        "failed_at": "2026-11-27T10:00:00+00:00",
    }
    return DeadLetter(partition, offset, f"{SHOP}/{customer}".encode(), change)


def test_the_change_replayed_is_the_one_the_write_back_read_without_why_it_failed() -> None:
    change = letter(4, "VIP").change()
    assert change is not None
    assert "reason" not in change and "failed_at" not in change
    assert change["tags_add"] == ["VIP"] and change["replayed_from"] == "0:4"


def test_a_record_that_is_no_tier_change_is_never_replayed() -> None:
    not_json = DeadLetter(0, 1, None, {})
    bad_record = DeadLetter(0, 2, b"k", {"reason": "ValueError: x", "topic": TOPIC_CUSTOMER_CHANGES})
    assert not_json.change() is None and bad_record.change() is None
    assert outcome_of(bad_record, bad_record, None) == SUPERSEDED


def test_a_change_still_the_customers_standing_is_replayed() -> None:
    only = letter(1, "VIP")
    assert outcome_of(only, only, "VIP") == REPLAYED


def test_a_change_a_later_one_moved_past_is_superseded() -> None:
    gained = letter(1, "VIP")
    assert outcome_of(gained, gained, None) == SUPERSEDED  # they lost the tier since: no VIP tag now


def test_of_one_customers_dead_letters_only_the_latest_is_replayed() -> None:
    older, newer, other = letter(1, "VIP"), letter(5, "VIP"), letter(3, "VIP", customer="8", partition=1)
    latest = latest_per_customer([newer, other, older])
    assert latest[older.key] is newer and latest[other.key] is other
    assert [outcome_of(d, latest[d.key], "VIP") for d in (older, newer)] == [SUPERSEDED, REPLAYED]
