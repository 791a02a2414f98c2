"""Which arm of an experiment a visitor is in: a deterministic hash of (experiment id, visitor id).

The widget (widget/storepulse.js, `storepulseArm`) computes the same function, so the storefront
hides toasts from the holdout arm and the worker counts each visitor in the arm they saw, without
trusting what a browser claims. FNV-1a (32 bits) of `"{experiment}:{visitor}"` over UTF-8 is
cheap in both languages and spreads ids evenly; its bucket, out of 10,000, picks the arm: the
holdout takes the first `holdout_pct` %, the variants share the rest by weight.
"""

from __future__ import annotations

from storepulse.contracts import Experiment

HOLDOUT = "holdout"
# The arm that sees toasts when the experiment has no template variants.
SHOWN = "shown"
BUCKETS = 10_000
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(text: str) -> int:
    h = _FNV_OFFSET
    for byte in text.encode():
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def arm_weights(experiment: Experiment) -> dict[str, float]:
    """Each arm's intended share of visitors (sums to 1)."""
    holdout = experiment.holdout_pct / 100
    shares = {HOLDOUT: holdout} if holdout else {}
    variants = experiment.variants or []
    total = sum(v.weight for v in variants)
    if not variants:
        shares[SHOWN] = 1 - holdout
    for v in variants:
        shares[v.name] = (1 - holdout) * v.weight / total
    return shares


def arm_of(experiment: Experiment, visitor: str) -> str:
    bucket = fnv1a32(f"{experiment.id}:{visitor}") % BUCKETS
    holdout = experiment.holdout_pct * BUCKETS // 100
    if bucket < holdout:
        return HOLDOUT
    if not experiment.variants:
        return SHOWN
    # The rest of the buckets, shared by weight; integer arithmetic so JavaScript agrees exactly.
    total = sum(v.weight for v in experiment.variants)
    point = (bucket - holdout) * total // (BUCKETS - holdout)
    for v in experiment.variants:
        point -= v.weight
        if point < 0:
            return v.name
    return experiment.variants[-1].name
