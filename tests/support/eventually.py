"""The one way the suite waits for something to happen."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")
Description = str | Callable[[], str] | None


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = ..., every: float = ..., what: Description = ...
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T], *, timeout: float = ..., every: float = ..., what: Description = ...
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    timeout: float = 30.0,
    every: float = 0.1,
    what: Description = None,
) -> Any:
    """Call `check` (sync or async) until its answer is truthy, and return that answer.

    Past `timeout` the test fails saying `what` was awaited (the check's name by default; a
    callable describes the state at that moment) and the last answer.
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return answer
        if time.monotonic() > deadline:
            awaited = what() if callable(what) else what or getattr(check, "__name__", repr(check))
            raise AssertionError(f"{awaited}: not reached within {timeout:g}s (last answer: {answer!r})")
        await asyncio.sleep(every)
