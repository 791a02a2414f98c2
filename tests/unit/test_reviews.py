"""The review kind: shown from the shop's minimum rating, its text cut at a word, its id from the
event's idempotency key, in the shop's languages."""

import pytest

from storepulse.contracts import ShopSettings
from streams.domain.notifications import EXCERPT_CHARS, excerpt, review_notification

SHOP = "reviews.myshopify.com"


def _event(**fields: object) -> dict[str, object]:
    return {
        "kind": "review",
        "idempotency_key": "judgeme-1",
        "occurred_at": "2026-12-03T12:00:00Z",
        "product_id": "7001",
        "title": "Cloud Hoodie",
        "rating": 5,
        "author": "Maya K.",
        "message": "Softest thing I own",
        **fields,
    }


def _review(event: dict[str, object], **rules: object):
    return review_notification(SHOP, event, rules=ShopSettings(shop=SHOP, **rules), catalog={})


def test_a_review_reads_stars_author_product_and_text_in_each_language() -> None:
    note = _review(_event(), languages=["en", "de"])
    assert note is not None and note.kind == "review"
    assert note.message == "★★★★★ Maya K. on Cloud Hoodie: “Softest thing I own”"
    assert note.messages["de"].message == "★★★★★ Maya K. über Cloud Hoodie: „Softest thing I own“"


@pytest.mark.parametrize(("rating", "minimum", "shown"), [(4, 4, True), (3, 4, False), (2, 1, True)])
def test_only_reviews_from_the_shops_minimum_rating_are_shown(rating: int, minimum: int, shown: bool) -> None:
    assert (_review(_event(rating=rating), review_min_rating=minimum) is not None) is shown


def test_the_same_idempotency_key_makes_the_same_id_and_a_hidden_kind_makes_none() -> None:
    first = _review(_event())
    assert first.id == _review(_event(message="edited")).id != _review(_event(idempotency_key="2")).id
    assert _review(_event(), enabled_kinds=["purchase"]) is None


def test_an_excerpt_is_cut_at_a_word_within_the_limit() -> None:
    text = "Warm, soft and light. " * 10
    cut = excerpt(text)
    assert len(cut) <= EXCERPT_CHARS and cut.endswith("…") and text.startswith(cut[:-1])
    assert excerpt("  Short\n and sweet ") == "Short and sweet"
