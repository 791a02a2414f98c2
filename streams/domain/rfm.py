"""RFM scores (1 to 5) from per-shop thresholds, and the named segment they put a customer in."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from storepulse.contracts import RfmThresholds


class Rfm(NamedTuple):
    recency: int
    frequency: int
    monetary: int
    segment: str


def _at_least(value: Decimal | int, bounds: Sequence[Decimal | int]) -> int:
    """5 for the first bound `value` reaches, 4 for the next …, 1 below them all."""
    for i, bound in enumerate(bounds[:4]):
        if value >= bound:
            return 5 - i
    return 1


def _within(days: float | None, bounds: Sequence[int]) -> int:
    if days is None:
        return 1
    for i, bound in enumerate(bounds[:4]):
        if days <= bound:
            return 5 - i
    return 1


# (segment, lowest recency, highest recency, lowest frequency+monetary average, highest average):
# the first row that matches names the segment (the usual RFM grid); anything else is "lost".
SEGMENTS: tuple[tuple[str, int, int, float, float], ...] = (
    ("champions", 4, 5, 4, 5),
    ("loyal", 3, 5, 3.5, 5),
    ("new customers", 4, 5, 1, 1),
    ("potential loyalist", 4, 5, 1.5, 3.5),
    ("promising", 3, 3, 1, 2),
    ("need attention", 3, 3, 2.5, 3.5),
    ("cannot lose them", 1, 1, 4, 5),
    ("at risk", 1, 2, 3, 5),
    ("hibernating", 2, 2, 1, 3),
)


LOST = "lost"
AT_RISK = "at risk"
SEGMENT_NAMES: tuple[str, ...] = (*(row[0] for row in SEGMENTS), LOST)


def segment_of(recency: int, frequency: int, monetary: int) -> str:
    fm = (frequency + monetary) / 2
    for name, r_lo, r_hi, fm_lo, fm_hi in SEGMENTS:
        if r_lo <= recency <= r_hi and fm_lo <= fm <= fm_hi:
            return name
    return LOST


def score(thresholds: RfmThresholds, days: float | None, orders: int, net_spent: Decimal) -> Rfm:
    r = _within(days, thresholds.recency_days)
    f = _at_least(orders, thresholds.frequency)
    m = _at_least(net_spent, thresholds.monetary)
    return Rfm(r, f, m, segment_of(r, f, m))
