"""Beacons: how fast one worker folds them into the analytics tables, how many one ingest process
takes, and whether the analytics API agrees exactly with the inputs.

    python -m loadtests.bench_beacons --beacons 200000 --json out.json

1. fold: N beacons (impressions, clicks, dismissals of 20,000 visitors in 8 shops) produced
   straight to `widget.beacons` in records as ingest batches them, then one worker started and
   timed from ready until every
   impression is in the shops' `analytics:{shop}` counters. Reported per second of wall time and
   per second of the worker's CPU (what it does with a core of its own on this shared machine).
2. ingest: one ingest process offered beacons at a fixed rate (open loop, loadtests/open_loop.py),
   every answer timed from when it was due.
3. end to end: 1,000 visitors, 5,000 impressions and the orders of loadtests/attribution_load.py
   (300 end attributed; repeats, cancellations, refunds) through ingest, signed; then
   `GET /app/api/analytics` compared with the totals recomputed from the inputs (run first, on
   the empty stack).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis.asyncio as redis

from admin.session import dev_session_token
from loadtests.attribution_load import KINDS, attributed_totals, workload
from loadtests.cpu import cpu_seconds, cpu_share, cpu_when_idle, describe
from loadtests.kafka_feed import beacon_records, produce_records
from loadtests.open_loop import RateResult, encode_request, send_encoded_at_rate
from loadtests.payloads import webhook
from storepulse.devstack import Stack, wait_ready
from storepulse.shops import open_registry

SECRET = "storepulse-bench-secret"
API_KEY = "bench-beacons-app"
ADMIN_TOKEN = "bench-beacons-admin"
SHOPS = [f"beacon-bench-{i}.myshopify.com" for i in range(8)]
# Beacons per record: what ingest's 20 ms batches hold at 4,000 beacons/s over 8 partitions
# (ingest/beacon_batches.py); at the 10,000/s of the target they would hold 25.
PER_RECORD = 10
TARGET_FOLD_PER_S = 10_000
TARGET_INGEST_PER_S = 4_000
TARGET_INGEST_P99_MS = 50.0
NOT_LIMITED = {
    "STOREPULSE_BEACON_RATE_PER_IP": "10000000/minute",
    "STOREPULSE_BEACON_RATE_PER_SHOP": "10000000/minute",
}


def fold_beacons(
    count: int, rng: random.Random, partitions: int
) -> tuple[list[tuple[str, bytes, bytes]], int]:
    """The records of `count` beacons, batched as ingest batches them, and how many are impressions."""
    visitors = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(20_000)]
    now = datetime.now(UTC).isoformat()
    types = ["impression"] * 8 + ["click", "dismiss"]
    beacons = []
    for i in range(count):
        shop = SHOPS[i % len(SHOPS)]
        body = {
            "shop": shop,
            "type": rng.choice(types),
            "visitor": rng.choice(visitors),
            "notification_id": f"{rng.choice(KINDS)}-{rng.getrandbits(40):010x}",
            "received_at": now,
        }
        beacons.append((shop, orjson.dumps(body)))
    impressions = sum(b'"type":"impression"' in b for _, b in beacons)
    return beacon_records(beacons, partitions, PER_RECORD), impressions


async def counted(client: redis.Redis, metric: str) -> int:
    total = 0
    for shop in SHOPS:
        total += int((await attributed_totals(client, shop)).get(metric, 0))
    return total


async def measure_fold(stack: Stack, count: int, timeout: float) -> dict[str, Any]:
    records, impressions = fold_beacons(count, random.Random(3), stack.settings().kafka_partitions)
    await produce_records(stack.env["KAFKA_URL"].removeprefix("kafka://"), records)
    worker = stack.start_service(
        "worker",
        extra_env={
            "STOREPULSE_APP_ID": f"bench-beacons-{uuid.uuid4().hex[:8]}",
            "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        },
        name="worker-fold",
    )
    try:
        wait_ready(worker.port, 120, worker)
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        begin = time.monotonic()
        cpu_at_begin = cpu_seconds(worker.proc.pid)
        done = 0
        with cpu_share({c.name: c.proc.pid for c in stack.children}) as cpu:
            while time.monotonic() - begin < timeout and done < impressions:
                done = await counted(client, "impressions")
                await asyncio.sleep(0.1)
        elapsed = time.monotonic() - begin
        worker_cpu_s = await cpu_when_idle(worker.proc.pid, timeout) - cpu_at_begin
        await client.aclose()
    finally:
        worker.stop()
    return {
        "beacons": count,
        "impressions": impressions,
        "impressions_counted": done,
        "seconds": round(elapsed, 2),
        "beacons_per_s": round(count * done / impressions / elapsed, 1),
        "beacons_per_worker_cpu_s": round(count / worker_cpu_s, 1) if worker_cpu_s else None,
        "cpu": describe(cpu),
    }


async def install(stack: Stack, shops: list[str]) -> None:
    registry = open_registry(stack.settings())
    try:
        for shop in shops:
            await registry.install(shop, "bench-token", "read_orders")
    finally:
        await registry.aclose()


async def measure_ingest(stack: Stack, rate: float, seconds: float, warmup_s: float) -> dict[str, Any]:
    await install(stack, SHOPS)  # beacons of shops that are not installed are refused
    ingest = stack.start_service("ingest", extra_env=NOT_LIMITED, name="ingest-beacons")
    try:
        wait_ready(ingest.port, 60, ingest)
        base = f"http://127.0.0.1:{ingest.port}"
        rng = random.Random(9)
        total = int(rate * (seconds + warmup_s))
        netloc = f"127.0.0.1:{ingest.port}"
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        requests = []
        for i in range(total):
            body = {
                "shop": SHOPS[i % len(SHOPS)],
                "type": rng.choice(["impression", "impression", "click", "page_view"]),
                "visitor": uuid.UUID(int=rng.getrandbits(128)).hex,
                "notification_id": f"purchase-{rng.getrandbits(40):010x}",
                "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            }
            if body["type"] == "page_view":
                body["product_id"] = str(rng.randint(1, 50))
            requests.append(encode_request(netloc, orjson.dumps(body), headers, path="/beacons"))
        with cpu_share({c.name: c.proc.pid for c in stack.children}) as cpu:
            answers = await send_encoded_at_rate(base, requests, rate)
        measured = [a for a in answers if a.due - answers[0].due >= warmup_s]
        result = RateResult.of(rate, measured)
    finally:
        ingest.stop()
    return {
        "rate": rate,
        "sent": result.sent,
        "ok": result.ok,
        "failed": result.sent - result.ok,
        "answers_per_s": round(result.answers_per_s, 1),
        "p50_ms": round(result.p50_ms, 1),
        "p99_ms": round(result.p99_ms, 1),
        "cpu": describe(cpu),
    }


async def end_to_end(stack: Stack, timeout: float) -> dict[str, Any]:
    shop = "beacon-bench-e2e.myshopify.com"
    await install(stack, [shop])
    load = workload(shop, visitors=1000, impressions=5000, attributed=300)
    worker = stack.start_service(
        "worker", extra_env={"STOREPULSE_APP_ID": f"bench-e2e-{uuid.uuid4().hex[:8]}"}, name="worker-e2e"
    )
    ingest = None
    try:
        wait_ready(worker.port, 120, worker)
        ingest = stack.start_service(
            "ingest",
            extra_env={
                **NOT_LIMITED,
                "SHOPIFY_API_KEY": API_KEY,
                "STOREPULSE_ADMIN_API_URL": f"http://127.0.0.1:{worker.port}",
            },
            name="ingest-e2e",
        )
        wait_ready(ingest.port, 60, ingest)
        token = dev_session_token(shop, API_KEY, SECRET)
        begin = time.monotonic()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest.port}", timeout=30) as http:
            sem = asyncio.Semaphore(32)

            async def post(path: str, body: bytes, headers: dict[str, str]) -> None:
                async with sem:
                    answer = await http.post(path, content=body, headers=headers)
                    assert answer.status_code in (200, 204), answer.text

            beacon_headers = {"Content-Type": "text/plain;charset=UTF-8"}
            for b in load.beacons:  # through ingest a beacon is received when it is sent
                b["received_at"] = datetime.now(UTC).isoformat()
            await asyncio.gather(
                *(
                    post("/beacons", load.beacon_body(b, with_time=False), beacon_headers)
                    for b in load.beacons
                )
            )
            for topic, payload in load.webhooks:  # in order: a cancellation comes after its order
                hook = webhook(topic, shop, payload)
                await post("/webhooks/shopify", hook.body, hook.headers(SECRET.encode()))
            sent_s = time.monotonic() - begin
            expected = load.expected()
            got: dict[str, Any] = {}
            while time.monotonic() - begin < timeout:
                answer = await http.get(
                    "/app/api/analytics", params={"days": 7}, headers={"Authorization": f"Bearer {token}"}
                )
                answer.raise_for_status()
                got = answer.json()["totals"]
                if all(Decimal(str(got[k])) == Decimal(str(v)) for k, v in expected.items()):
                    break
                await asyncio.sleep(0.5)
            settled_s = time.monotonic() - begin
    finally:
        if ingest is not None:
            ingest.stop()
        worker.stop()
    agrees = all(Decimal(str(got.get(k, -1))) == Decimal(str(v)) for k, v in expected.items())
    return {
        "visitors": 1000,
        "beacons": len(load.beacons),
        "webhooks": len(load.webhooks),
        "expected": expected,
        "api_totals": {k: got.get(k) for k in expected},
        "agrees": agrees,
        "sent_s": round(sent_s, 1),
        "settled_s": round(settled_s, 1),
    }


PARTS = ("fold", "ingest", "end_to_end")


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    parts = set(args.parts.split(","))
    # End to end first: a worker of a new group reads the topics from their start, and the other
    # steps leave hundreds of thousands of beacons there.
    e2e = await end_to_end(stack, args.timeout) if "end_to_end" in parts else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "fold": await measure_fold(stack, args.beacons, args.timeout) if "fold" in parts else None,
        "ingest": await measure_ingest(stack, args.rate, args.seconds, args.warmup)
        if "ingest" in parts
        else None,
        "end_to_end": e2e,
        "targets": {
            "fold_per_s": TARGET_FOLD_PER_S,
            "ingest_per_s": TARGET_INGEST_PER_S,
            "ingest_p99_ms": TARGET_INGEST_P99_MS,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beacons", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=TARGET_INGEST_PER_S)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--parts", default=",".join(PARTS), help="which of fold, ingest, end_to_end")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    env = {"SHOPIFY_API_SECRET": SECRET, "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "warning"}
    stack = Stack(env=env, log_dir=Path(tempfile.mkdtemp(prefix="bench-beacons-")))
    stack.start_infra()
    try:
        result = asyncio.run(run(args, stack))
    finally:
        stack.stop()
    fold, ingest, e2e = result["fold"], result["ingest"], result["end_to_end"]
    if fold:
        print(
            f"fold: {fold['beacons']:,} beacons in {fold['seconds']} s = {fold['beacons_per_s']:,}/s "
            f"({fold['beacons_per_worker_cpu_s']} per worker CPU second; CPU % {fold['cpu']})"
        )
    if ingest:
        print(
            f"ingest: offered {ingest['rate']:,.0f}/s, answered {ingest['answers_per_s']:,}/s, "
            f"p50 {ingest['p50_ms']} ms, p99 {ingest['p99_ms']} ms, failed {ingest['failed']} "
            f"(CPU % {ingest['cpu']})"
        )
    if e2e:
        print(
            f"end to end: {e2e['beacons']:,} beacons and {e2e['webhooks']} webhooks through ingest; "
            f"API {'agrees exactly' if e2e['agrees'] else 'DISAGREES'} with the recomputation "
            f"({e2e['api_totals']} vs {e2e['expected']}) after {e2e['settled_s']} s"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
