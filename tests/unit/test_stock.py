from datetime import UTC, datetime, timedelta

from loadtests.payloads import CATALOG, inventory_level, product
from streams.domain import stock
from streams.domain.templates import render

HOODIE, TOTE = CATALOG[0], CATALOG[2]
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
THRESHOLD = 5


def _level(available: int, minutes: int, location: int = 1, entry=HOODIE) -> dict:
    return inventory_level(
        entry[0], available, location_id=location, updated_at=T0 + timedelta(minutes=minutes)
    )


def _changes(state: dict, *levels: dict) -> list[tuple[str, int]]:
    crossings = (stock.apply_level(state, level, THRESHOLD) for level in levels)
    return [(c.change, c.available) for c in crossings if c is not None]


def _tracked(quantity: int = 20, entry=HOODIE) -> dict:
    state = stock.empty()
    assert stock.apply_product(state, product(entry, stock=quantity), THRESHOLD) is None
    return state


def test_falling_to_the_threshold_says_low_once_until_stock_is_above_it_again() -> None:
    state = _tracked()
    assert _changes(state, _level(8, 1), _level(3, 2), _level(2, 3), _level(5, 4)) == [("low_stock", 3)]
    # Restocked above the threshold, it may run low again.
    assert _changes(state, _level(9, 5), _level(4, 6)) == [("low_stock", 4)]


def test_a_stale_level_changes_nothing() -> None:
    state = _tracked()
    assert _changes(state, _level(3, 2)) == [("low_stock", 3)]
    # An older report that there were 9 arrives late, then the same newer report again.
    assert _changes(state, _level(9, 1), _level(3, 2)) == []
    assert stock.available(state, str(HOODIE[0])) == 3
    assert _changes(state, _level(9, 3), _level(2, 4)) == [("low_stock", 2)]


def test_sold_out_then_restocked_is_back_in_stock() -> None:
    state = _tracked()
    assert _changes(state, _level(0, 1), _level(4, 2), _level(2, 3)) == [("back_in_stock", 4)]


def test_stock_is_summed_over_locations() -> None:
    state = stock.empty()
    assert _changes(state, _level(3, 1, location=1), _level(3, 1, location=2)) == []
    assert stock.apply_product(state, product(HOODIE, stock=6), THRESHOLD) is None  # 3 + 3 > 5
    assert _changes(state, _level(1, 2, location=2)) == [("low_stock", 4)]


def test_untracked_products_are_never_announced() -> None:
    state = stock.empty()
    stock.apply_product(state, product(TOTE), THRESHOLD)
    assert _changes(state, _level(2, 1, entry=TOTE), _level(0, 2, entry=TOTE), _level(9, 3, entry=TOTE)) == []


def test_a_level_before_its_product_counts_once_the_product_is_known() -> None:
    state = stock.empty()
    assert _changes(state, _level(3, 1)) == []
    crossing = stock.apply_product(state, product(HOODIE, stock=20), THRESHOLD)
    assert crossing is not None and (crossing.change, crossing.available) == ("low_stock", 3)
    assert crossing.title == "Cloud Hoodie"


def test_each_crossing_has_its_own_sequence_number() -> None:
    state = _tracked()
    first = stock.apply_level(state, _level(3, 1), THRESHOLD)
    stock.apply_level(state, _level(9, 2), THRESHOLD)
    second = stock.apply_level(state, _level(3, 3), THRESHOLD)
    assert (first.seq, second.seq) == (1, 2)


def test_the_words_follow_each_languages_plural_rules() -> None:
    assert render("low_stock", "en", {}, count=3, product="Tote") == ("Almost gone", "Only 3 left of Tote")
    assert render("low_stock", "pl", {}, count=1, product="Tote")[1] == "Został tylko 1 egzemplarz: Tote"
    assert render("low_stock", "pl", {}, count=3, product="Tote")[1] == "Zostały tylko 3 egzemplarze: Tote"
    assert render("low_stock", "pl", {}, count=5, product="Tote")[1] == "Zostało tylko 5 egzemplarzy: Tote"
    assert render("back_in_stock", "de", {}, product="Tote") == ("Wieder verfügbar", "Tote ist wieder da")
