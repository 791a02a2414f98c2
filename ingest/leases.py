"""A Redis lease held for as long as a run goes on: at most one run of a kind per shop.

redis-py's `Lock` with a timeout its holder keeps renewing, so a process that dies lets it lapse
within `lease_s` and the next start (any process) takes over.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = structlog.get_logger(__name__)


async def keep_renewed(lease: Lock, lease_s: float, what: str, shop: str) -> None:
    """Renew `lease` every third of its timeout until cancelled, or until it was lost."""
    while True:
        await asyncio.sleep(lease_s / 3)
        try:
            await lease.reacquire()
        except LockError:
            log.warning(f"{what}_lease_lost", shop=shop)
            return
