"""The fault-injection run: the whole system under signed-webhook load while its parts fail.

    python -m loadtests.chaos --seeds 3 --write docs/reliability.md     # make chaos
    python -m loadtests.chaos --seed 7 --rate 30 --duration 40 --shops 4 --repeats 1

Two workers of one group, ingest, push, the broker and Redis (append-only file, as in production)
on loopback; signed webhooks (new orders, 5 % duplicate deliveries, 2 % out-of-order updates,
refunds, cancels) from a seeded generator, redelivered on 503 as Shopify does; an SSE client per
shop that reconnects with its Last-Event-ID. Faults, each kind `--repeats` times in an order drawn
from the seed: a worker SIGKILLed (of two, and the last one), the broker SIGSTOPped, Redis killed
and restarted, push killed, a malformed record in every input topic. Afterwards every customer's
metrics (read model and table), every purchase notification and every client's events are
checked against the ledger of what ingest accepted. Everything it starts stops when it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as redis

from loadtests.chaos_faults import FAULT_KINDS, REFUSING_KINDS, Fault, Injected, System, schedule
from loadtests.chaos_load import Deliverer, Ledger, Load, Mix
from loadtests.chaos_watch import (
    NotificationCheck,
    SSECheck,
    Storefront,
    check_notifications,
    check_storefronts,
    consumer_lag,
    mismatches,
    read_model_metrics,
    storefronts,
    stream_of,
    table_metrics,
)
from loadtests.machine import this_machine
from storepulse import redis_keys
from storepulse.shops import open_registry
from streams.domain.notifications import notification_id

SECRET = b"chaos-secret"
ADMIN_TOKEN = "chaos-admin-token"
# How long after the load (and the last fault) everything must be exact and every partition's lag 0.
SETTLE_S = 180.0
# How long the SSE clients get to receive what was published last.
CATCH_UP_S = 30.0
# A 503 this long after a refusing fault was repaired still belongs to it (clients reconnecting).
REFUSAL_GRACE_S = 10.0


@dataclass(frozen=True)
class Plan:
    seed: int
    rate: float = 200.0  # webhook slots per second
    duration_s: float = 120.0
    shops: int = 20
    customers_per_shop: int = 40
    workers: int = 2
    repeats: int = 2  # of each fault kind
    pause_s: float = 10.0  # the broker's SIGSTOP
    faults: tuple[str, ...] = FAULT_KINDS  # the kinds to inject
    log_level: str = "warning"  # the services' (info shows every rebalance, to read one that failed)


@dataclass
class Outcome:
    plan: Plan
    faults: list[Injected] = field(default_factory=list)
    sent: int = 0
    accepted: int = 0
    redelivered: int = 0
    duplicates: int = 0
    undelivered: int = 0
    unexpected_5xx: int = 0
    notifications: NotificationCheck = field(default_factory=NotificationCheck)
    sse: SSECheck = field(default_factory=SSECheck)
    customers: int = 0
    read_model_mismatches: int = -1
    table_mismatches: int = -1
    settled_s: float | None = None
    lag_zero_s: float | None = None
    seconds: float = 0.0
    load_s: float = 0.0  # from the first webhook to the last answer

    @property
    def achieved_per_s(self) -> float:
        return self.sent / self.load_s if self.load_s else 0.0

    @property
    def passed(self) -> bool:
        return (
            self.notifications.exact
            and self.sse.exact
            and self.read_model_mismatches == 0
            and self.table_mismatches == 0
            and self.unexpected_5xx == 0
            and self.undelivered == 0
            and self.lag_zero_s is not None
        )


async def _faults(
    system: System,
    plan: Plan,
    faults: list[Fault],
    rng: random.Random,
    load: Load,
    begin: float,
    out: Outcome,
) -> None:
    client = redis.Redis.from_url(system.stack.env["REDIS_URL"])
    key = system.stack.settings().notification_key
    try:
        for fault in faults:
            await asyncio.sleep(max(0.0, begin + fault.at_s - time.monotonic()))
            print(f"  {time.monotonic() - begin:6.1f}s  {fault.kind}", flush=True)
            injected = await system.inject(fault, rng, plan.pause_s)
            out.faults.append(injected)
            # Recovered: an order placed now is on the storefront's stream.
            shop = rng.choice(sorted({p.shop for p in load.ledger.orders.values()}))
            probe = notification_id(shop, "purchase", str(await load.new_order(shop)), key)
            deadline = time.monotonic() + SETTLE_S
            while time.monotonic() < deadline:
                try:  # the publisher's marker: set in the same step as the stream entry
                    if await client.exists(redis_keys.notified(shop, probe)):
                        injected.recovered_s = round(time.monotonic() - injected.repaired, 1)
                        break
                except redis.RedisError:
                    pass
                await asyncio.sleep(0.2)
    finally:
        await client.aclose()


async def _drive(system: System, plan: Plan, load: Load, out: Outcome) -> None:
    """The load at `plan.rate` for `plan.duration_s`, and on while faults remain (at most 3x)."""
    fault_rng = random.Random(plan.seed + 1)
    faults = schedule(fault_rng, plan.duration_s, plan.repeats, plan.faults)
    begin = time.monotonic()
    chaos = asyncio.create_task(_faults(system, plan, faults, fault_rng, load, begin, out))
    mix, tasks, slot = Mix(), set(), 0
    while time.monotonic() - begin < plan.duration_s * 3 and not (
        time.monotonic() - begin >= plan.duration_s and chaos.done()
    ):
        await asyncio.sleep(max(0.0, begin + slot / plan.rate - time.monotonic()))
        task = asyncio.create_task(load.one(mix))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        slot += 1
    await chaos
    await asyncio.gather(*tasks)
    out.load_s = round(time.monotonic() - begin, 1)


async def run(plan: Plan, log_dir: Path) -> Outcome:
    out = Outcome(plan)
    started = time.monotonic()
    env = {
        "SHOPIFY_API_SECRET": SECRET.decode(),
        "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LOG_LEVEL": plan.log_level,
        "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        # Every notification of the run stays in `recent:{shop}`, so the check sees them all.
        "STOREPULSE_RECENT_MAXLEN": str(int(plan.rate * plan.duration_s * 3)),
    }
    system = await asyncio.to_thread(System.start, log_dir, env, plan.workers)
    try:
        await _exercise(system, plan, out)
    finally:
        for child in system.stack.infra:
            child.resume()  # a broker left paused by a failure still stops
        await asyncio.to_thread(system.stop)
    out.seconds = round(time.monotonic() - started, 1)
    return out


async def _exercise(system: System, plan: Plan, out: Outcome) -> None:
    rng = random.Random(plan.seed)
    shops = [f"chaos-{plan.seed}-{i}.myshopify.com" for i in range(plan.shops)]
    registry = open_registry(system.stack.settings())
    try:
        for shop in shops:
            await registry.install(shop, "shpat_chaos")
    finally:
        await registry.aclose()
    assert system.ingest and system.push
    ingest_url, push_url = (f"http://127.0.0.1:{c.port}" for c in (system.ingest, system.push))
    deliverer = Deliverer(
        ingest_url, SECRET, Ledger(), give_up_at=time.monotonic() + plan.duration_s * 3 + 60
    )
    load = Load(shops, plan.customers_per_shop, rng, deliverer)
    client = redis.Redis.from_url(system.stack.env["REDIS_URL"])
    try:
        async with storefronts(push_url, shops) as fronts:
            await _drive(system, plan, load, out)
            await _settle(system, shops, load, client, out)
            streams = {shop: await stream_of(client, shop) for shop in shops}
            await _caught_up(fronts, streams)
            out.sse = check_storefronts(fronts, streams)
    finally:
        await client.aclose()
        await deliverer.aclose()
    ledger = load.ledger
    out.sent, out.accepted, out.redelivered = ledger.sent, len(ledger.accepted), ledger.redelivered
    out.duplicates, out.undelivered = ledger.duplicates, ledger.undelivered
    windows = [(f.started, f.repaired + REFUSAL_GRACE_S) for f in out.faults if f.kind in REFUSING_KINDS]
    out.unexpected_5xx = sum(
        1 for at, status in ledger.server_errors if status != 503 or not any(a <= at <= b for a, b in windows)
    )


async def _caught_up(fronts: dict[str, Storefront], streams: dict[str, list[tuple[str, dict]]]) -> None:
    """Until every client has its stream's newest entry (what was published last may still be on
    its way), or CATCH_UP_S."""
    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        if all(not entries or entries[-1][0] in fronts[shop].received for shop, entries in streams.items()):
            return
        await asyncio.sleep(0.5)


async def _settle(system: System, shops: list[str], load: Load, client: redis.Redis, out: Outcome) -> None:
    """Until the read models and streams are exact (or SETTLE_S), then until the lag is 0."""
    key = system.stack.settings().notification_key
    expected_ids: dict[str, set[str]] = {shop: set() for shop in shops}
    for shop, order_id in load.ledger.created():
        expected_ids[shop].add(notification_id(shop, "purchase", str(order_id), key))
    expected = load.ledger.expected_metrics()
    out.customers = len(expected)
    begin = time.monotonic()
    while True:
        streams = {shop: await stream_of(client, shop) for shop in shops}
        out.notifications = check_notifications(expected_ids, streams)
        out.read_model_mismatches = mismatches(expected, await read_model_metrics(client, shops))
        if out.notifications.exact and not out.read_model_mismatches:
            out.settled_s = round(time.monotonic() - begin, 1)
            break
        if time.monotonic() - begin > SETTLE_S:
            break
        await asyncio.sleep(2)
    urls = [f"http://127.0.0.1:{w.port}" for w in system.workers]
    out.table_mismatches = mismatches(expected, await table_metrics(urls[0], ADMIN_TOKEN, list(expected)))
    while time.monotonic() - begin < SETTLE_S * 1.5:
        if await consumer_lag(urls) == 0:
            out.lag_zero_s = round(time.monotonic() - begin, 1)
            break
        await asyncio.sleep(1)


def table(outcomes: list[Outcome]) -> str:
    """The results as a Markdown table, one column per run."""
    rows: list[tuple[str, list[str]]] = [
        ("seed", [str(o.plan.seed) for o in outcomes]),
        (
            "load offered",
            [f"{o.plan.rate:g} webhooks/s x {o.plan.duration_s:g} s, {o.plan.shops} shops" for o in outcomes],
        ),
        ("webhooks/s the client sent", [f"{o.achieved_per_s:,.0f} over {o.load_s:g} s" for o in outcomes]),
        ("faults injected", [", ".join(f"{k} {n}" for k, n in _counts(o).items()) for o in outcomes]),
        (
            "webhooks sent / accepted / redelivered",
            [f"{o.sent} / {o.accepted} / {o.redelivered}" for o in outcomes],
        ),
        ("duplicate deliveries", [str(o.duplicates) for o in outcomes]),
        ("undelivered / unexpected 5xx", [f"{o.undelivered} / {o.unexpected_5xx}" for o in outcomes]),
        (
            "notifications expected / delivered",
            [f"{o.notifications.expected} / {o.notifications.delivered}" for o in outcomes],
        ),
        (
            "notifications duplicated / missing / unexpected",
            [
                f"{o.notifications.duplicated} / {o.notifications.missing} / {o.notifications.unexpected}"
                for o in outcomes
            ],
        ),
        ("SSE clients / reconnects", [f"{o.sse.clients} / {o.sse.reconnects}" for o in outcomes]),
        ("SSE events due / received", [f"{o.sse.events} / {o.sse.received}" for o in outcomes]),
        (
            "SSE duplicated / missing / out of order",
            [f"{o.sse.duplicated} / {o.sse.missing} / {o.sse.out_of_order}" for o in outcomes],
        ),
        ("customers checked", [str(o.customers) for o in outcomes]),
        (
            "metric mismatches (read model / table)",
            [f"{o.read_model_mismatches} / {o.table_mismatches}" for o in outcomes],
        ),
        (
            "recovery after fault, s (max)",
            [", ".join(f"{k} {v}" for k, v in _recovery(o).items()) for o in outcomes],
        ),
        ("exact after load / lag 0 after, s", [f"{o.settled_s} / {o.lag_zero_s}" for o in outcomes]),
        ("run took, s", [str(o.seconds) for o in outcomes]),
        ("result", ["pass" if o.passed else "FAIL" for o in outcomes]),
    ]
    head = "| | " + " | ".join(f"run {i + 1}" for i in range(len(outcomes))) + " |"
    lines = [head, "|---" * (len(outcomes) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def _counts(o: Outcome) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in o.faults:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts


def _recovery(o: Outcome) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in o.faults:
        worst = out.get(f.kind)
        value = "never" if f.recovered_s is None else f.recovered_s
        if worst != "never" and (worst is None or value == "never" or float(value) > float(worst)):
            out[f.kind] = str(value)
    return out


def report(outcomes: list[Outcome]) -> str:
    return f"""# Reliability: the chaos run

Written by `make chaos` (`python -m loadtests.chaos`, loadtests/chaos.py) on its last run:
{this_machine().summary()}.

Each run starts its own broker, Redis (append-only file), ingest, push and two workers of one
group on loopback, and replays the fault schedule its seed draws (`--seed N`). Exact means: every
customer's orders, total and net spent equal a recomputation from the webhooks ingest accepted
(the `customers:{{shop}}` read model, and the worker's table through one worker's admin API, which
forwards to the other); every accepted order has exactly one purchase notification in
`recent:{{shop}}`; every storefront client received every notification of its shop once, in
order, across push restarts and Redis restarts. Bound: exact within {SETTLE_S:g} s of the load's
end and every partition's consumer lag 0 within {SETTLE_S * 1.5:g} s. A 503 counts as expected only
during a broker pause or Redis restart and {REFUSAL_GRACE_S:g} s after it.

{table(outcomes)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append", help="a run's seed (repeatable)")
    parser.add_argument("--seeds", type=int, default=1, help="runs with random seeds when no --seed")
    parser.add_argument("--rate", type=float, default=Plan.rate)
    parser.add_argument("--duration", type=float, default=Plan.duration_s)
    parser.add_argument("--shops", type=int, default=Plan.shops)
    parser.add_argument("--repeats", type=int, default=Plan.repeats)
    parser.add_argument("--pause", type=float, default=Plan.pause_s)
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"fault kinds, comma-separated (of {', '.join(FAULT_KINDS)})",
    )
    parser.add_argument("--log-level", default=Plan.log_level, help="the services' log level")
    parser.add_argument("--write", type=Path, help="write the report (Markdown) here")
    args = parser.parse_args()
    kinds = tuple(args.faults.split(","))
    if unknown := set(kinds) - set(FAULT_KINDS):
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    seeds = args.seed or [random.SystemRandom().randrange(10**6) for _ in range(args.seeds)]
    outcomes = []
    for seed in seeds:
        plan = Plan(
            seed,
            args.rate,
            args.duration,
            args.shops,
            repeats=args.repeats,
            pause_s=args.pause,
            faults=kinds,
            log_level=args.log_level,
        )
        log_dir = Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-"))
        print(f"chaos run, seed {seed} (replay: --seed {seed}), logs in {log_dir}", flush=True)
        outcomes.append(asyncio.run(run(plan, log_dir)))
        print(table(outcomes[-1:]), flush=True)
    print(table(outcomes))
    if args.write:
        args.write.write_text(report(outcomes))
    sys.exit(0 if all(o.passed for o in outcomes) else 1)


if __name__ == "__main__":
    main()
