"""Arm assignment: stable per visitor, new per experiment, and true to the weights."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from storepulse.contracts import Experiment, Variant
from streams.domain.arms import HOLDOUT, SHOWN, arm_of, arm_weights, fnv1a32

STARTED = datetime(2026, 12, 1, tzinfo=UTC)
IDS = [f"visitor-{i:06d}" for i in range(100_000)]


def test_fnv1a_matches_the_reference_vectors() -> None:
    # From the FNV reference (isthe.com/chongo/tech/comp/fnv): "" and "a" and "foobar".
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


def test_weights_are_respected_over_100000_ids() -> None:
    exp = Experiment(
        id="exp-1",
        started_at=STARTED,
        holdout_pct=20,
        variants=[Variant(name="A", weight=1), Variant(name="B", weight=2)],
    )
    counts = Counter(arm_of(exp, v) for v in IDS)
    for arm, share in arm_weights(exp).items():
        assert counts[arm] / len(IDS) == pytest.approx(share, abs=0.01), arm
    assert set(counts) == {HOLDOUT, "A", "B"}


def test_a_visitor_stays_in_one_arm_and_a_new_experiment_reshuffles() -> None:
    first = Experiment(id="exp-1", started_at=STARTED, holdout_pct=50)
    again = Experiment(id="exp-1", started_at=STARTED, holdout_pct=50)
    second = Experiment(id="exp-2", started_at=STARTED, holdout_pct=50)
    arms = [arm_of(first, v) for v in IDS[:2000]]
    assert arms == [arm_of(again, v) for v in IDS[:2000]]
    moved = sum(a != arm_of(second, v) for a, v in zip(arms, IDS[:2000], strict=True))
    assert 800 < moved < 1200  # independent halves: about half move


def test_without_a_holdout_or_variants_everyone_sees_toasts() -> None:
    exp = Experiment(id="exp-1", started_at=STARTED)
    assert {arm_of(exp, v) for v in IDS[:1000]} == {SHOWN}
