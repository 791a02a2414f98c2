"""Open-loop load: signed webhooks sent on a fixed schedule, whatever the server's pace.

Locust's users wait for each answer before the next request, so a slow server lowers the
offered rate and hides its own queueing (coordinated omission). Here request *i* is due at
`start + i / rate` and its answer time counts from that moment, so queueing shows.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from loadtests.payloads import Webhook

WEBHOOK_PATH = "/webhooks/shopify"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Answer:
    index: int
    due: float  # perf_counter seconds when the request was scheduled
    answered: float  # perf_counter seconds when the answer (or error) arrived
    status: int  # HTTP status, 0 for no answer (transport error or the client's timeout)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def ms(self) -> float:
        return (self.answered - self.due) * 1000


@dataclass(frozen=True)
class RateResult:
    """What one fixed rate produced, over the answers after the warm-up."""

    rate: float
    sent: int
    ok: int
    failed: dict[str, int]  # "503", "timeout", … → count
    answers_per_s: float
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process

    @classmethod
    def of(cls, rate: float, answers: Sequence[Answer]) -> RateResult:
        good = [a for a in answers if a.ok]
        span = (max(a.answered for a in answers) - min(a.due for a in answers)) if answers else 0.0
        ms = [a.ms for a in good]
        return cls(
            rate=rate,
            sent=len(answers),
            ok=len(good),
            failed=dict(Counter(str(a.status or "no answer") for a in answers if not a.ok).most_common()),
            answers_per_s=len(good) / span if span > 0 else 0.0,
            p50_ms=percentile(ms, 50),
            p99_ms=percentile(ms, 99),
        )


async def send_at_rate(
    base_url: str,
    hooks: Sequence[Webhook],
    secret: bytes,
    rate: float,
    *,
    max_connections: int = 1024,
    timeout_s: float = 10.0,
) -> list[Answer]:
    """POST every hook to ingest, hook *i* at `i / rate` seconds from now; all answers."""
    # Sign before the clock starts: the client's CPU is shared with the server under test.
    prepared = [(hook.body, hook.headers(secret)) for hook in hooks]
    connector = aiohttp.TCPConnector(limit=max_connections)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    answers: list[Answer] = []
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:

        async def post(index: int, due: float) -> None:
            body, headers = prepared[index]
            try:
                async with session.post(WEBHOOK_PATH, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            answers.append(Answer(index, due, time.perf_counter(), status))

        start = time.perf_counter()
        tasks = []
        for index in range(len(prepared)):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(index, due)))
        await asyncio.gather(*tasks)
    return sorted(answers, key=lambda a: a.index)
