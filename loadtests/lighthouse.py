"""Lighthouse's performance score of the demo store page with and without the widget.

Starts Redis and a push server of its own, publishes one notification (so the widget draws a
toast), then runs Lighthouse 12.2.3 (loadtests/lighthouse/, `npm ci` on first use) against
Debian's Chromium: `--blocked-url-patterns=*/widget.js` is the page without the widget, the same
page otherwise. Prints the median of each and the difference (Shopify turns down apps that cost
more than 10 points).

    python -m loadtests.lighthouse [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as redis

from storepulse.contracts import Notification
from storepulse.devstack import Stack, start_redis, wait_ready
from streams.runtime.publisher import NotificationPublisher

HERE = Path(__file__).resolve().parent / "lighthouse"
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"
SHOP = "lighthouse.myshopify.com"


def score(url: str, blocked: list[str]) -> float:
    """One Lighthouse run's performance score, 0 to 100 (mobile emulation, Lighthouse's default)."""
    command = [str(LIGHTHOUSE), url, "--only-categories=performance", "--output=json", "--quiet"]
    command += [f"--chrome-flags={CHROME_FLAGS}", "--output-path=stdout"]
    command += [f"--blocked-url-patterns={p}" for p in blocked]
    out = subprocess.run(
        command, capture_output=True, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=180
    )
    return float(json.loads(out.stdout)["categories"]["performance"]["score"]) * 100


async def publish_one(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    note = Notification(
        id="lighthouse-1",
        shop=SHOP,
        kind="purchase",
        title="t",
        message="Maya in Austin, US just bought the Cloud Hoodie",
        occurred_at=datetime.now(UTC),
    )
    await NotificationPublisher(client, ttl_s=600, maxlen=100).publish([note])
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    own_redis = start_redis()
    redis_url = f"redis://127.0.0.1:{own_redis.port}/0"
    stack = Stack(env={"REDIS_URL": redis_url, "LOG_LEVEL": "warning"})
    push = stack.start_service("push", extra_env={"STOREPULSE_DEV_AUTO_INSTALL": "true"})
    try:
        wait_ready(push.port, 60, push)
        asyncio.run(publish_one(redis_url))
        url = f"http://127.0.0.1:{push.port}/demo/{SHOP}"
        without = [score(url, ["*/widget.js"]) for _ in range(args.runs)]
        with_widget = [score(url, []) for _ in range(args.runs)]
    finally:
        push.stop()
        own_redis.stop()
    a, b = statistics.median(without), statistics.median(with_widget)
    print(f"without the widget: {a:.0f} (runs {without})")
    print(f"with the widget:    {b:.0f} (runs {with_widget})")
    print(f"cost: {a - b:.0f} points")


if __name__ == "__main__":
    main()
