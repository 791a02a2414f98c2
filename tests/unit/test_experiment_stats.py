"""The experiment statistics against values worked out by hand and by reference formulas."""

from __future__ import annotations

import math

import pytest

from admin.experiment_stats import chi2_sf, compare, fisher_exact, sample_ratio_p, visitors_needed


def test_a_known_two_by_two_table_gives_the_hand_computed_interval_and_p_value() -> None:
    # 120 of 1,000 against 100 of 1,000: p1 = .12, p0 = .10.
    result = compare(120, 1000, 100, 1000)
    assert result is not None
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000)  # 0.013986
    assert result.absolute == pytest.approx(0.02)
    assert result.absolute_ci == pytest.approx((0.02 - 1.959964 * se, 0.02 + 1.959964 * se), abs=1e-6)
    assert result.absolute_ci == pytest.approx((-0.00741, 0.04741), abs=1e-5)
    # Pearson's chi-square without correction: X² = 2.0429, p = 0.1529 (R: prop.test(correct=FALSE)).
    assert result.test == "chi-square"
    assert result.p_value == pytest.approx(0.1529, abs=1e-4)
    # Relative uplift 20 %, log risk-ratio interval exp(ln 1.2 ± 1.96·0.09545) - 1.
    se_log = math.sqrt(1 / 120 - 1 / 1000 + 1 / 100 - 1 / 1000)
    assert result.relative == pytest.approx(0.2)
    assert result.relative_ci == pytest.approx(
        (1.2 * math.exp(-1.959964 * se_log) - 1, 1.2 * math.exp(1.959964 * se_log) - 1), abs=1e-6
    )
    assert result.relative_ci == pytest.approx((-0.0659, 0.5416), abs=1e-4)


def test_small_counts_use_fishers_exact_test() -> None:
    # Fisher's tea-tasting table [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.4857.
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70)
    result = compare(3, 4, 1, 4)
    assert result is not None and result.test == "fisher"
    assert result.p_value == pytest.approx(34 / 70)


def test_no_comparison_without_visitors_and_no_relative_uplift_without_conversions() -> None:
    assert compare(0, 0, 5, 100) is None
    result = compare(0, 100, 0, 100)
    assert result is not None and result.relative is None and result.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("x", "df", "expected"),
    # Critical values at 5 % (tables), and exp(-2) for df = 2 at x = 4.
    [
        (3.841459, 1, 0.05),
        (4.0, 2, math.exp(-2)),
        (7.814728, 3, 0.05),
        (9.487729, 4, 0.05),
        (11.0705, 5, 0.05),
    ],
)
def test_chi_square_tail_matches_the_tables(x: float, df: int, expected: float) -> None:
    assert chi2_sf(x, df) == pytest.approx(expected, abs=1e-5)


def test_sample_ratio_mismatch() -> None:
    # 5,100 / 4,900 against 50/50: X² = 4, p = 0.0455 — unusual but no mismatch at p < 0.001.
    assert sample_ratio_p([5100, 4900], [0.5, 0.5]) == pytest.approx(0.0455, abs=1e-4)
    assert sample_ratio_p([5500, 4500], [0.5, 0.5]) < 0.001  # X² = 100
    assert sample_ratio_p([1000, 9000], [0.1, 0.9]) == pytest.approx(1.0)
    assert sample_ratio_p([10], [1.0]) is None


def test_visitors_needed_for_a_five_percent_uplift() -> None:
    # Baseline 10 %, 10.5 % to detect, two-sided 5 %, 80 % power: the textbook ~57,760 per arm.
    assert visitors_needed(0.10) == pytest.approx(57_760, rel=0.002)
    assert visitors_needed(0.0) is None
