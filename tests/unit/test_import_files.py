"""Reading another loyalty app's export: encodings, headers, the column mapping, and each row."""

from datetime import date

import pytest

from admin.import_files import ImportFileError, read
from admin.import_rows import Candidate, Rejected, check

TIERS = {"vip": "VIP", "gold": "Gold"}
TODAY = date(2026, 12, 1)


def rows(text: str | bytes, **mapping: str) -> list:
    parsed = read(text.encode() if isinstance(text, str) else text, mapping)
    return [check(r, TIERS, TODAY) for r in parsed.rows]


def test_columns_are_found_by_their_usual_names_in_csv_and_json_lines_alike() -> None:
    csv = "\ufeffCustomer ID,VIP Tier,Expires On\n7001,gold,2027-01-31\n\n7002,VIP,\n"
    jsonl = (
        '{"customer_id": 7001, "tier": "gold", "expires_on": "2027-01-31"}\n'
        '{"customer_id": 7002, "tier": "VIP"}\n'
    )
    expected = [Candidate(2, "7001", None, "Gold", "2027-01-31"), Candidate(4, "7002", None, "VIP", None)]
    assert rows(csv) == expected
    assert [(c.customer_id, c.tier, c.until) for c in rows(jsonl)] == [
        ("7001", "Gold", "2027-01-31"),
        ("7002", "VIP", None),
    ]


def test_a_mapping_names_columns_the_usual_names_miss() -> None:
    assert rows("Member,Level\ngid://shopify/Customer/9,vip\n", customer_id="member", tier="Level") == [
        Candidate(2, "9", None, "VIP", None)
    ]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("Customer ID,Tier\n7001,Müller\n".encode("latin-1"), "not UTF-8"),
        (b"7001,VIP\n", "no recognisable header"),
        (b"", "empty"),
        (b"[1, 2]\n", "no recognisable header"),
        (b'{"tier": "VIP"}\n', "no recognisable header"),
    ],
)
def test_a_file_that_cannot_be_imported_says_why(data: bytes, words: str) -> None:
    with pytest.raises(ImportFileError, match=words):
        read(data, {})


def test_a_mapped_column_the_file_lacks_is_named() -> None:
    with pytest.raises(ImportFileError, match="no column 'Level'"):
        read(b"customer_id,tier\n1,VIP\n", {"tier": "Level"})


def test_each_bad_row_gets_its_reason() -> None:
    text = (
        "customer_id,email,tier,expires_on\n"
        "abc,,VIP,\n,not-an-email,VIP,\n1,,Platinum,\n2,,VIP,31/12/2027\n3,,VIP,2020-01-01\n4,,VIP\n"
    )
    assert [(r.row, r.reason) for r in rows(text) if isinstance(r, Rejected)] == [
        (2, "unknown customer"),
        (3, "unknown customer"),
        (4, "unknown tier"),
        (5, "bad date"),
        (6, "bad date"),
        (7, "unreadable line"),
    ]
