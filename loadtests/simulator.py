"""The dev stack's webhook simulator: a demo shop whose customers come back.

Each shopper buys at a rate of their own, drawn from a gamma distribution (the NBD model of
repeat buying: most buy now and then, a few often), and who buys next is drawn by those rates,
so within minutes of `make run` some customers are VIPs and others one order away; now and then
a new customer arrives. At start the simulator sends the shop's past through the same signed
webhooks: backdated orders/create of the regulars and of customers who stopped buying (the RFM
segments "at risk" and "lost"). Every backdated order is more than a day old, past the default
`max_purchase_age_s` and the 24-hour trending window, so none of them shows as a toast.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import structlog

from loadtests.payloads import CATALOG, CITIES, FIRST_NAMES, Webhook, order, product, webhook
from shopify.topics import ORDERS_CREATE, PRODUCTS_CREATE

log = structlog.get_logger(__name__)

Product = tuple[int, str, str, str]

# Of the live orders, the share placed by a customer the shop has not seen before.
NEW_CUSTOMER_SHARE = 0.25
# Gamma shape of the purchase rates: below 1, a few shoppers buy far more often than the rest.
RATE_SHAPE = 0.6


@dataclass
class Shopper:
    id: int
    first_name: str
    city: tuple[str, str, str]
    rate: float  # how often they buy, relative to the other shoppers
    orders: int = 0

    @classmethod
    def new(cls, rng: random.Random) -> Shopper:
        return cls(
            rng.randint(10**12, 10**13),
            rng.choice(FIRST_NAMES),
            rng.choice(CITIES),
            rng.gammavariate(RATE_SHAPE, 1.0),
        )

    def buys(self, shop: str, rng: random.Random, item: Product, at: datetime | None = None) -> Webhook:
        self.orders += 1
        payload = order(
            customer_id=self.id,
            rng=rng,
            product=item,
            first_name=self.first_name,
            city=self.city,
            created_at=at,
        )
        return webhook(ORDERS_CREATE, shop, payload)


@dataclass(frozen=True)
class Cohort:
    """`size` shoppers, each with a past of `orders` (fewest, most) orders of `products`, placed
    between `days` (most, fewest) days ago."""

    size: int
    orders: tuple[int, int]
    days: tuple[float, float]
    products: tuple[Product, ...] = tuple(CATALOG)


# Four orders of these pass the 200 of net spent a monetary score of 3 needs (RfmThresholds).
PRICIER = tuple(p for p in CATALOG if Decimal(p[3]) >= 50)
# The regulars keep buying; the others stopped.
REGULARS = Cohort(24, (0, 3), (120, 2))
STOPPED = (
    Cohort(6, (4, 6), (330, 190), PRICIER),  # at risk: VIPs whose last order is 6 to 11 months old
    Cohort(8, (1, 2), (700, 400)),  # lost: one or two orders, over a year ago
)


def past_orders(
    shop: str, cohort: Cohort, rng: random.Random, now: datetime
) -> tuple[list[Shopper], list[Webhook]]:
    """The cohort's shoppers and their backdated orders."""
    shoppers = [Shopper.new(rng) for _ in range(cohort.size)]
    hooks = [
        shopper.buys(shop, rng, rng.choice(cohort.products), now - timedelta(days=rng.uniform(*cohort.days)))
        for shopper in shoppers
        for _ in range(rng.randint(*cohort.orders))
    ]
    return shoppers, hooks


def next_buyer(regulars: list[Shopper], rng: random.Random) -> Shopper:
    """A regular drawn by purchase rate, or now and then a newcomer who joins them."""
    if not regulars or rng.random() < NEW_CUSTOMER_SHARE:
        regulars.append(Shopper.new(rng))
        return regulars[-1]
    return rng.choices(regulars, weights=[s.rate for s in regulars])[0]


async def _send(client: httpx.AsyncClient, hook: Webhook, secret: bytes) -> int | None:
    """The status ingest answered, or None when it could not be reached."""
    try:
        answer = await client.post("/webhooks/shopify", content=hook.body, headers=hook.headers(secret))
    except httpx.HTTPError as exc:
        log.warning("simulator_failed", error=str(exc))
        return None
    if answer.status_code != 200:
        log.warning("simulator_refused", status=answer.status_code, topic=hook.topic)
    return answer.status_code


async def simulate(
    ingest_url: str,
    shop: str,
    secret: bytes,
    *,
    images_url: str | None = None,
    every_s: float = 4.0,
    count: int | None = None,
    rng: random.Random | None = None,
) -> None:
    """Publish the demo catalog (with images from `images_url`) and the shop's past, then send
    `count` live orders (forever when None), one every `every_s` seconds on average."""
    rng = rng or random.Random()
    now = datetime.now(UTC)
    regulars, history = past_orders(shop, REGULARS, rng, now)
    shoppers = list(regulars)
    for cohort in STOPPED:
        stopped, orders = past_orders(shop, cohort, rng, now)
        shoppers += stopped
        history += orders
    async with httpx.AsyncClient(base_url=ingest_url, timeout=10) as client:
        for entry in CATALOG:
            await _send(client, webhook(PRODUCTS_CREATE, shop, product(entry, images_url)), secret)
        for hook in history:
            await _send(client, hook, secret)
        customers = sum(1 for s in shoppers if s.orders)
        log.info("simulated_history", customers=customers, orders=len(history))
        sent = 0
        while count is None or sent < count:
            shopper = next_buyer(regulars, rng)
            item = rng.choice(CATALOG)
            if await _send(client, shopper.buys(shop, rng, item), secret) == 200:
                log.info("simulated_order", customer=shopper.id, orders=shopper.orders, product=item[1])
            sent += 1
            await asyncio.sleep(rng.uniform(every_s * 0.5, every_s * 1.5))
