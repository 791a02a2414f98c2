"""The numbers on the app's home page, from the shop's customer index and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import redis.asyncio as redis

from admin.customer_index import ShopIndex
from storepulse import redis_keys
from storepulse.contracts import ShopSettings
from streams.domain.rfm import AT_RISK, SEGMENT_NAMES

ACTIVE_DAYS = 90


def _money(cents: Decimal) -> str:
    return str((cents / 100).quantize(Decimal("0.01")))


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def customer_figures(index: ShopIndex, settings: ShopSettings, now: datetime) -> dict[str, Any]:
    """Customers, activity, VIPs, revenue and growth (money to the cent in the shop currency)."""
    net = int(index.column("net_spent").sum())
    orders = int(index.column("orders_count").sum())
    buyers = int((index.column("orders_count") > 0).sum())
    last, first = index.column("last_order_at"), index.column("first_order_at")
    active = int((last >= int((now - timedelta(days=ACTIVE_DAYS)).timestamp())).sum())
    this_month = _month_start(now)
    last_month = _month_start(this_month - timedelta(days=1))
    # Month to date against the same stretch of last month (cut at its end when it was shorter).
    same_stretch = min(last_month + (now - this_month), this_month)
    new_now = _between(first, this_month, now + timedelta(seconds=1))
    new_before = _between(first, last_month, same_stretch)
    growth = round((new_now - new_before) / new_before * 100, 1) if new_before else None
    tiers = index.counts("tier")
    segments = index.counts("segment")
    currencies = index.counts("currency")
    return {
        "currency": max(currencies, key=currencies.__getitem__) if currencies else None,
        "customers": index.size,
        "active_customers": active,
        "active_days": ACTIVE_DAYS,
        "vips": {
            **{rule.name: tiers.get(rule.name, 0) for rule in settings.tiers},
            **tiers,  # tiers customers still hold under a name the settings no longer have
        },
        "net_revenue": _money(Decimal(net)),
        "average_order_value": _money(Decimal(net) / orders) if orders else None,
        "average_lifetime_value": _money(Decimal(net) / buyers) if buyers else None,
        "at_risk": segments.get(AT_RISK, 0),
        "segments": {name: segments.get(name, 0) for name in SEGMENT_NAMES},
        "new_customers": {
            "this_month": new_now,
            "last_month_same_days": new_before,
            "growth_percent": growth,
        },
    }


def _between(column: np.ndarray, start: datetime, end: datetime) -> int:
    return int(((column >= int(start.timestamp())) & (column < int(end.timestamp()))).sum())


async def notification_figures(client: redis.Redis, shop: str, now: datetime) -> dict[str, int]:
    """Notifications published today and in the last 7 days (UTC days, today included)."""
    days = [(now - timedelta(days=back)).date().isoformat() for back in range(7)]
    counts = [int(c or 0) for c in await client.hmget(redis_keys.notification_days(shop), days)]
    return {"today": counts[0], "last_7_days": sum(counts)}


def utc_now() -> datetime:
    return datetime.now(UTC)
