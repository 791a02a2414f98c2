"""The worker's Redis steps (publishing, read models, token lookups) wait out a Redis outage.

An agent's batch is acknowledged only once its body is done, so a step that waits here holds its
batch uncommitted, and the batch's notifications and read-model writes happen once Redis is back.
Raising instead would crash the agent, which loses the batch: Faust restarts the agent past it.
Every step is safe to repeat (publishing is SET NX per notification id; read models are HSET/HDEL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import redis.asyncio as redis
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

log = structlog.get_logger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Raised while Redis cannot be reached (refused, reset, timed out, no pooled connection free).
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
MAX_BACKOFF_S = 5.0


def _waiting(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "redis_unavailable_retrying",
        attempt=state.attempt_number,
        retry_in_s=round(state.upcoming_sleep, 2),
        error=repr(error),
    )


async def redis_step(step: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """`await step(*args, **kwargs)`, repeated with backoff for as long as Redis is unreachable."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(REDIS_DOWN),
        wait=wait_exponential_jitter(initial=0.1, max=MAX_BACKOFF_S),
        before_sleep=_waiting,
        reraise=True,
    ):
        with attempt:
            result = await step(*args, **kwargs)
    if attempt.retry_state.attempt_number > 1:
        log.info("redis_back", attempts=attempt.retry_state.attempt_number)
    return result
