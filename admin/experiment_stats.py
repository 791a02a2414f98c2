"""The statistics of an experiment's results: conversion uplift with its interval and p-value, the
sample-ratio-mismatch check, and how many more visitors a verdict needs.

Conversion is binary per exposed visitor, so arms are compared as two proportions:
- absolute uplift p₁ - p₀ with the unpooled (Wald) 95 % interval;
- relative uplift p₁/p₀ - 1 with the log risk-ratio (Katz) interval;
- the p-value of Pearson's chi-square test without continuity correction (the pooled two-sided
  z-test, the same number), or of Fisher's exact test when a cell's expected count is under 5,
  where the chi-square approximation fails.
The sample-ratio check is a chi-square goodness-of-fit test of the arms' visitors against their
weights; p < 0.001 means the assignment or the counting is broken, whatever the uplift says.
The standard library's NormalDist and erfc cover the distributions needed (chi-square with at
most 4 degrees of freedom has a closed form), so no numerical package is pulled in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)
SRM_ALPHA = 0.001
# The uplift a merchant wants to be able to see, and with what power.
MIN_UPLIFT = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Comparison:
    """One arm against the reference arm (the holdout, or the first variant)."""

    absolute: float
    absolute_ci: tuple[float, float]
    relative: float | None
    relative_ci: tuple[float, float] | None
    p_value: float
    test: str


def normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df ≥ x) for a whole number of degrees of freedom (closed form of the upper gamma)."""
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(half) / math.gamma(1.5)  # (x/2)^(1/2) / Γ(3/2)
    for i in range(1, (df - 1) // 2 + 1):
        total += math.exp(-half) * term
        term *= half / (i + 0.5)
    return min(1.0, total)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for [[a, b], [c, d]] (tables as likely or less)."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def log_p(k: int) -> float:
        return _log_choose(col1, k) + _log_choose(n - col1, row1 - k) - _log_choose(n, row1)

    observed = log_p(a)
    low, high = max(0, row1 + col1 - n), min(row1, col1)
    total = sum(math.exp(lp) for k in range(low, high + 1) if (lp := log_p(k)) <= observed + 1e-7)
    return min(1.0, total)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def compare(converted: int, visitors: int, ref_converted: int, ref_visitors: int) -> Comparison | None:
    """The arm (converted of visitors) against the reference; None while either arm is empty."""
    if visitors == 0 or ref_visitors == 0:
        return None
    p1, p0 = converted / visitors, ref_converted / ref_visitors
    diff = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / visitors + p0 * (1 - p0) / ref_visitors)
    relative = relative_ci = None
    if converted and ref_converted:
        relative = p1 / p0 - 1
        se_log = math.sqrt(1 / converted - 1 / visitors + 1 / ref_converted - 1 / ref_visitors)
        log_rr = math.log(p1 / p0)
        relative_ci = (math.exp(log_rr - Z95 * se_log) - 1, math.exp(log_rr + Z95 * se_log) - 1)
    n = visitors + ref_visitors
    pooled = (converted + ref_converted) / n
    smallest_expected = min(visitors, ref_visitors) * min(pooled, 1 - pooled)
    if smallest_expected < 5:
        p_value = fisher_exact(converted, visitors - converted, ref_converted, ref_visitors - ref_converted)
        test = "fisher"
    else:
        z = diff / math.sqrt(pooled * (1 - pooled) * (1 / visitors + 1 / ref_visitors))
        p_value, test = normal_two_sided(z), "chi-square"
    return Comparison(diff, (diff - Z95 * se, diff + Z95 * se), relative, relative_ci, p_value, test)


def sample_ratio_p(observed: Sequence[int], weights: Sequence[float]) -> float | None:
    """p-value of the arms' sizes given their intended shares; None with fewer than 2 arms or no visitors."""
    total = sum(observed)
    if len(observed) < 2 or total == 0:
        return None
    chi2 = sum((o - total * w) ** 2 / (total * w) for o, w in zip(observed, weights, strict=True))
    return chi2_sf(chi2, len(observed) - 1)


def visitors_needed(baseline: float, uplift: float = MIN_UPLIFT, power: float = POWER) -> int | None:
    """Exposed visitors each arm needs to detect a relative `uplift` over `baseline` conversion
    (two-sided 5 %, `power`); None without a baseline to plan from."""
    if not 0 < baseline < 1:
        return None
    p1 = min(baseline * (1 + uplift), 0.999999)
    pooled = (baseline + p1) / 2
    z_power = NormalDist().inv_cdf(power)
    root = Z95 * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        baseline * (1 - baseline) + p1 * (1 - p1)
    )
    return math.ceil(root**2 / (p1 - baseline) ** 2)
