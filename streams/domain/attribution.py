"""Visitor → order attribution and the analytics counters, exact under duplicates, reordering and replays.

Everything about one visitor of one shop is one state (`Visitor`, a JSON dict): the toasts they saw
and clicked (with the notification kind and the experiment arm of each), the days they were
exposed, their experiments, and a ledger of their orders (the customer metrics' `OrderEntry`, so a
refund or cancellation merges exactly as there). An order's attribution is derived from that
state alone: click-through when a click came within the click window before it, else view-through
when an impression came within the view window, each credited to that toast's kind and arm.

The shop's counters (per day and per experiment) are sums over visitors. An event moves them by
what it counts itself (an impression, a click, a visitor's first exposure of the day) plus the
difference it made to what its visitor's orders and experiments contribute
(`contribution(after) - contribution(before)`), so an impression that arrives after its order
simply attributes the order then. Attributions are stored in the state when derived, so a
later change of windows or experiments cannot make `before` disagree with what was added.

Replays after a crash: every state and counter records, per source partition, the offset of the
last event it applied (`wm`), and a visitor keeps the deltas of its last events (`log`). A batch's
table writes are not atomic, so after a SIGKILL a visitor may be ahead of a counter or behind it:
an event the visitor already applied re-sends its logged delta, and a counter skips an event its
watermark has passed. Each delta thus lands in each counter exactly once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from storepulse.contracts import AnalyticsSettings, Beacon, Experiment
from streams.domain.arms import arm_of
from streams.domain.customer_metrics import merge_order_event, order_counts
from streams.domain.customer_state import OrderEntry
from streams.domain.fields import parse_time

Visitor = dict[str, Any]
# Counter key (`d:{day}` or `x:{experiment}`) → field (`{dimension}|{metric}`) → amount.
Delta = dict[str, dict[str, int | Decimal]]

# Per visitor: newest exposures kept (a bot sending more gains nothing), days of uniques kept,
# deltas kept for replays (a replay covers the uncommitted tail: a few batches).
MAX_EXPOSURES = 200
KEEP_DAYS = 40
LOG_LENGTH = 32
# The longest click window a shop may set, and then some: older exposures can attribute nothing.
KEEP_EXPOSURES_S = 31 * 86400
# Pending refunds and deletes of an order whose visitor is not known yet (or never will be).
MAX_PENDING = 20

EVENT_METRIC = {"impression": "impressions", "click": "clicks", "dismiss": "dismissals"}
EXPOSING = {"impression", "click", "ghost_impression"}
REVENUE = "revenue"


def new_visitor() -> Visitor:
    return {"wm": {}, "imp": [], "clk": [], "seen": {}, "orders": {}, "exp": {}, "log": []}


def day_of(at: datetime, timezone: str | None) -> str:
    zone = ZoneInfo(timezone) if timezone else UTC
    return at.astimezone(zone).date().isoformat()


def kind_of(notification_id: str | None) -> str:
    """A notification id is `{kind}-{digest}`."""
    kind = (notification_id or "").partition("-")[0]
    return kind or "unknown"


def experiments_of(rules: AnalyticsSettings) -> dict[str, Experiment]:
    found = {e.id: e for e in rules.past_experiments}
    if rules.experiment is not None:
        found[rules.experiment.id] = rules.experiment
    return found


def running(rules: AnalyticsSettings, at: datetime) -> Experiment | None:
    """The experiment a beacon received at `at` belongs to, if one runs then."""
    exp = rules.experiment
    if exp is None or at < exp.started_at or (exp.stopped_at is not None and at > exp.stopped_at):
        return None
    return exp


# --- what a visitor adds to the counters -------------------------------------------------------


def _add(delta: Delta, key: str, field: str, amount: int | Decimal) -> None:
    fields = delta.setdefault(key, {})
    fields[field] = fields.get(field, 0) + amount


def _dims(kind: str, arm: str | None) -> tuple[str, ...]:
    return ("all", f"kind:{kind}", f"arm:{arm}") if arm else ("all", f"kind:{kind}")


def contribution(state: Visitor) -> Delta:
    """What the visitor's orders and experiments add to the counters: attributed orders and
    revenue, and its experiments' arms. (Unique exposed visitors per day are counted as each
    day's first exposure comes, by `see_beacon`: a day's count never changes afterwards.)"""
    out: Delta = {}
    if not state["orders"] and not state["exp"]:
        return out
    converted: set[str] = set()
    for record in state["orders"].values():
        counted, net = order_counts(OrderEntry(**record["e"]))
        if not counted:
            continue
        if record.get("attr"):
            how, kind, arm = record["attr"]
            for dim in _dims(kind, arm):
                _add(out, f"d:{record['day']}", f"{dim}|orders_{how}", 1)
                _add(out, f"d:{record['day']}", f"{dim}|{REVENUE}_{how}", net)
        for exp_id in record.get("x", ()):
            arm = state["exp"][exp_id]["arm"]
            _add(out, f"x:{exp_id}", f"{arm}|orders", 1)
            _add(out, f"x:{exp_id}", f"{arm}|{REVENUE}", net)
            converted.add(exp_id)
    for exp_id, seen in state["exp"].items():
        _add(out, f"x:{exp_id}", f"{seen['arm']}|visitors", 1)
        if seen["exposed"]:
            _add(out, f"x:{exp_id}", f"{seen['arm']}|exposed", 1)
        if exp_id in converted:
            _add(out, f"x:{exp_id}", f"{seen['arm']}|converted", 1)
    return out


def difference(after: Delta, before: Delta, into: Delta) -> Delta:
    for key in after.keys() | before.keys():
        a, b = after.get(key, {}), before.get(key, {})
        for field in a.keys() | b.keys():
            change = a.get(field, 0) - b.get(field, 0)
            if change:
                _add(into, key, field, change)
    return {k: v for k, v in into.items() if v}


# --- applying events ---------------------------------------------------------------------------


def see_beacon(state: Visitor, beacon: Beacon, rules: AnalyticsSettings) -> Delta:
    """Record a beacon in the visitor's state; what the beacon counts by itself."""
    at = beacon.received_at
    t = at.timestamp()
    exp = running(rules, at)
    arm = arm_of(exp, beacon.visitor) if exp is not None else None
    own: Delta = {}
    if exp is not None:
        seen = state["exp"].setdefault(exp.id, {"arm": arm, "exposed": False})
        if beacon.type in EXPOSING:
            seen["exposed"] = True
    if beacon.type == "page_view":
        return own
    kind = kind_of(beacon.notification_id)
    day = day_of(at, rules.timezone)
    ghost = beacon.type == "ghost_impression"
    if beacon.type in ("impression", "ghost_impression"):
        _keep(state["imp"], [t, kind, arm, ghost])
    elif beacon.type == "click":
        _keep(state["clk"], [t, kind, arm])
    if not ghost:
        metric = EVENT_METRIC[beacon.type]
        dims = state["seen"].setdefault(day, []) if beacon.type != "dismiss" else None
        for dim in _dims(kind, arm):
            _add(own, f"d:{day}", f"{dim}|{metric}", 1)
            if dims is not None and dim not in dims:
                dims.append(dim)
                _add(own, f"d:{day}", f"{dim}|visitors", 1)
        _prune_days(state["seen"])
    return own


def _keep(exposures: list[list[Any]], exposure: list[Any]) -> None:
    """Insert in time order; drop what is too old to attribute anything, and the oldest past the cap."""
    if not exposures or exposures[-1][0] <= exposure[0]:
        exposures.append(exposure)
    else:
        bisect.insort(exposures, exposure, key=lambda e: e[0])
    oldest_kept = exposures[-1][0] - KEEP_EXPOSURES_S
    if exposures[0][0] < oldest_kept:
        del exposures[: bisect.bisect_left(exposures, oldest_kept, key=lambda e: e[0])]
    if len(exposures) > MAX_EXPOSURES:
        del exposures[: len(exposures) - MAX_EXPOSURES]


def _prune_days(seen: dict[str, list[str]]) -> None:
    if len(seen) > KEEP_DAYS:
        for day in sorted(seen)[: len(seen) - KEEP_DAYS]:
            del seen[day]


def see_order_event(
    state: Visitor, order_id: str, topic: str, payload: Mapping[str, Any], rules: AnalyticsSettings
) -> None:
    """Merge an order, refund or delete of one of the visitor's orders into their ledger."""
    record = state["orders"].get(order_id)
    before = OrderEntry(**record["e"]) if record else None
    after = merge_order_event(before, topic, dict(payload))
    if after is None:
        return
    record = record or {"attr": None, "x": []}
    record["e"] = asdict(after)
    created = parse_time(after.created_at)
    if created is not None and "day" not in record:
        record["day"] = day_of(created, rules.timezone)
    state["orders"][order_id] = record


def resolve(state: Visitor, rules: AnalyticsSettings) -> None:
    """Derive each order's attribution (and its experiments) from the exposures now known."""
    experiments = experiments_of(rules)
    view_s, click_s = rules.view_window_h * 3600, rules.click_window_d * 86400
    for record in state["orders"].values():
        created = parse_time(record["e"].get("created_at"))
        if created is None:
            continue
        t = created.timestamp()
        click = _last_within(state["clk"], t - click_s, t)
        view = _last_within((e for e in state["imp"] if not e[3]), t - view_s, t)
        if click is not None:
            record["attr"] = ["click", click[1], click[2]]
        elif view is not None:
            record["attr"] = ["view", view[1], view[2]]
        else:
            record["attr"] = None
        counted = []
        for exp_id in state["exp"]:
            exp = experiments.get(exp_id)
            # An experiment the settings no longer hold keeps what it had.
            if exp_id in record["x"] if exp is None else _in_experiment(state, exp, created, view_s, click_s):
                counted.append(exp_id)
        record["x"] = sorted(counted)


def _last_within(exposures: Iterable[list[Any]], start: float, end: float) -> list[Any] | None:
    found = None
    for exposure in exposures:
        if start <= exposure[0] <= end:
            found = exposure
    return found


def _in_experiment(state: Visitor, exp: Experiment, created: datetime, view_s: float, click_s: float) -> bool:
    """An order counts for the experiment when placed while it ran, within a window of an exposure
    (a ghost impression too) received while it ran."""
    if created < exp.started_at or (exp.stopped_at is not None and created > exp.stopped_at):
        return False
    start, t = exp.started_at.timestamp(), created.timestamp()
    return (
        _last_within(state["clk"], max(start, t - click_s), t) is not None
        or _last_within(state["imp"], max(start, t - view_s), t) is not None
    )


# --- replays -----------------------------------------------------------------------------------


def applied(marks: Mapping[str, int], source: str, offset: int) -> bool:
    """Whether a state or counter with watermarks `marks` already holds this event."""
    return marks.get(source, -1) >= offset


def logged(state: Visitor, source: str, offset: int) -> Delta:
    """The delta the visitor sent for an event it already applied (replayed after a crash)."""
    for entry_source, entry_offset, delta in state["log"]:
        if entry_source == source and entry_offset == offset:
            return decode_delta(delta)
    return {}


def remember(state: Visitor, source: str, offset: int, delta: Delta) -> None:
    state["wm"][source] = offset
    if delta:
        state["log"].append([source, offset, encode_delta(delta)])
        del state["log"][:-LOG_LENGTH]


def encode_delta(delta: Delta) -> dict[str, dict[str, int | str]]:
    if all(type(v) is int for fields in delta.values() for v in fields.values()):
        return delta  # type: ignore[return-value]  # ints only: JSON as it is
    return {
        k: {f: str(v) if isinstance(v, Decimal) else v for f, v in fields.items()}
        for k, fields in delta.items()
    }


def decode_delta(raw: Mapping[str, Mapping[str, int | str]]) -> Delta:
    return {
        k: {f: Decimal(v) if isinstance(v, str) else v for f, v in fields.items()}
        for k, fields in raw.items()
    }


def add_to_counter(
    counter: dict[str, Any] | None, fields: Mapping[str, int | Decimal], source: str, offset: int
) -> dict[str, Any]:
    """A counter (`{"wm": …, "c": {field: int or decimal string}}`) with one event's fields added."""
    counter = counter or {"wm": {}, "c": {}}
    counts = counter["c"]
    for field, amount in fields.items():
        if isinstance(amount, Decimal):
            counts[field] = str(Decimal(counts.get(field, "0")) + amount)
        else:
            counts[field] = counts.get(field, 0) + amount
    counter["wm"][source] = offset
    return counter
