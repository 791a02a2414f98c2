"""Orders and net revenue per UTC day (`order-day:{shop}:{day}`), the merchant's 30-day chart.

Each hash keeps the day's totals and the share every order placed that day adds to them
(`o:{order id}` → `orders:net`). A Lua step moves the totals by the difference between an
order's new share and the one it holds, so re-deliveries and a batch replayed after a crash
count nothing twice; a refund or cancel lowers the day the order was placed. A redacted
customer's orders leave: their shares go, and so does what they added to the totals. Only
recent days are kept (the hashes expire), so the shares cost memory for the chart's window only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import redis.asyncio as redis

from storepulse import redis_keys

# Days a day's hash lives after its last change; older orders (a backfill) are not counted.
KEEP_DAYS = 40
# Net revenue is held in thousandths: integers Redis adds exactly (3-decimal currencies too).
SCALE = 1000

# KEYS: one day hash per share. ARGV: per share the order id, orders, net and 1 when the order
# is forgotten (its share goes rather than being kept at zero); then the TTL.
_SHARES = """
local ttl = ARGV[#ARGV]
for i = 1, #KEYS do
  local key, field = KEYS[i], 'o:' .. ARGV[4 * i - 3]
  local orders, net = tonumber(ARGV[4 * i - 2]), tonumber(ARGV[4 * i - 1])
  local forget = ARGV[4 * i] == '1'
  local held = redis.call('HGET', KEYS[i], field)
  local orders0, net0 = 0, 0
  if held then
    local sep = string.find(held, ':', 1, true)
    orders0, net0 = tonumber(string.sub(held, 1, sep - 1)), tonumber(string.sub(held, sep + 1))
  end
  if orders ~= orders0 or net ~= net0 then
    redis.call('HINCRBY', key, 'orders', string.format('%d', orders - orders0))
    redis.call('HINCRBY', key, 'net', string.format('%d', net - net0))
    redis.call('HSET', key, field, string.format('%d:%d', orders, net))
    redis.call('EXPIRE', key, ttl)
  end
  if forget then redis.call('HDEL', key, field) end
end
"""


@dataclass(frozen=True)
class OrderShare:
    """What one order counts for the day it was placed."""

    shop: str
    order_id: str
    day: date
    orders: int
    net: Decimal
    forget: bool = False  # the order's customer was redacted: nothing of it stays


@dataclass(frozen=True)
class DayTotals:
    day: date
    orders: int
    net: Decimal


class OrderDays:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._shares = client.register_script(_SHARES)

    async def write(self, shares: list[OrderShare], now: datetime | None = None) -> None:
        oldest = (now or datetime.now(UTC)).date() - timedelta(days=KEEP_DAYS - 1)
        recent = [s for s in shares if s.day >= oldest]
        if not recent:
            return
        args: list[str | int] = []
        for s in recent:
            args += [s.order_id, s.orders, int(s.net * SCALE), int(s.forget)]
        await self._shares(
            keys=[redis_keys.order_day(s.shop, s.day.isoformat()) for s in recent],
            args=[*args, KEEP_DAYS * 86400],
        )


async def read_days(client: redis.Redis, shop: str, last: date, count: int) -> list[DayTotals]:
    """The totals of the `count` days up to `last`, oldest first (days without orders are zeros)."""
    days = [last - timedelta(days=n) for n in range(count - 1, -1, -1)]
    async with client.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hmget(redis_keys.order_day(shop, day.isoformat()), "orders", "net")
        answers = await pipe.execute()
    return [
        DayTotals(day, int(orders or 0), Decimal(int(net or 0)) / SCALE)
        for day, (orders, net) in zip(days, answers, strict=True)
    ]
