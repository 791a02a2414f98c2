"""Geometry of the Home page's charts, drawn as inline SVG by the templates (no chart library,
nothing to load in the browser): orders and net revenue per day, customers per segment."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# The daily chart's drawing box (SVG user units; the SVG scales to its card's width).
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 56, 12, 30


@dataclass(frozen=True)
class Day:
    day: date
    orders: int
    net: Decimal


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    bars: list[Bar]
    line: str  # SVG polyline points of net revenue
    points: list[tuple[float, float, str]]
    left_ticks: list[Tick]  # orders
    right_ticks: list[Tick]  # net revenue
    x_ticks: list[Tick]
    plot_left: float
    plot_right: float


def nice_ceiling(value: float, ticks: int = 4) -> tuple[float, float]:
    """(top, step): an axis top ≥ `value` split into `ticks` steps of 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return float(ticks), 1.0
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * ticks, step


def daily_chart(
    days: Sequence[Day], money: Callable[[Decimal], str], compact: Callable[[float], str]
) -> DailyChart:
    """Bars of orders (left axis) and a line of net revenue (right axis), one slot per day."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    orders_top, orders_step = nice_ceiling(max((d.orders for d in days), default=0))
    if orders_step < 1:  # orders are whole: no half-order ticks
        orders_top, orders_step = 4.0, 1.0
    net_top, net_step = nice_ceiling(float(max((d.net for d in days), default=Decimal(0))))

    def y_of(value: float, top: float) -> float:
        return TOP + plot_h - plot_h * value / top

    bars, points = [], []
    for i, d in enumerate(days):
        x = LEFT + i * slot
        y = y_of(d.orders, orders_top)
        title = f"{d.day:%b %-d}: {d.orders} orders, {money(d.net)} net"
        bars.append(
            Bar(
                round(x + slot * 0.15, 1),
                round(y, 1),
                round(slot * 0.7, 1),
                round(TOP + plot_h - y, 1),
                title,
            )
        )
        points.append((round(x + slot / 2, 1), round(y_of(float(d.net), net_top), 1), title))
    steps = range(5)
    return DailyChart(
        WIDTH,
        HEIGHT,
        bars,
        " ".join(f"{x},{y}" for x, y, _ in points),
        points,
        [Tick(round(y_of(n * orders_step, orders_top), 1), f"{n * orders_step:g}") for n in steps],
        [Tick(round(y_of(n * net_step, net_top), 1), compact(n * net_step)) for n in steps],
        [
            Tick(round(LEFT + i * slot + slot / 2, 1), f"{d.day:%b %-d}")
            for i, d in enumerate(days)
            if i % 7 == 0
        ],
        LEFT,
        WIDTH - RIGHT,
    )


@dataclass(frozen=True)
class SegmentBar:
    name: str
    count: int
    width: float  # share of the longest bar, 0..100
    risk: bool


def segment_bars(counts: Mapping[str, int], order: Sequence[str], risky: Sequence[str]) -> list[SegmentBar]:
    """One bar per segment in `order` (empty segments too, so the chart's rows never move)."""
    top = max(counts.values(), default=0) or 1
    return [
        SegmentBar(s, counts.get(s, 0), round(100 * counts.get(s, 0) / top, 1), s in risky) for s in order
    ]
