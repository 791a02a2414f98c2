"""One SSE connection: a bounded outbox of pre-encoded frames and the coroutine that writes it.

The hub appends the same bytes object to every client of a shop; the client's own coroutine
joins whatever is pending into one body and makes one `send`. A client whose outbox passes
its bound, or whose socket stops draining, is disconnected (and counted) so it never delays
the others; it reconnects with its Last-Event-ID and replays from `recent:{shop}`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from starlette.types import Receive, Send

from push.frames import PING, Event


class Client:
    __slots__ = (
        "_held",
        "_pending",
        "_sending",
        "_task",
        "_wake",
        "active",
        "closed",
        "drop_reason",
        "last_order",
        "limit",
        "seen_writes",
        "shop",
        "syncing",
        "writes",
    )

    def __init__(self, shop: str, limit: int) -> None:
        self.shop = shop
        self.limit = limit
        self.last_order: tuple[int, int] | None = None  # newest event written to the outbox
        self.syncing = True  # while replaying from the stream, live events are held back
        self.closed = False
        self.drop_reason: str | None = None
        self.writes = 0
        self.seen_writes = -1
        self.active = False  # an event went out since the last keep_alive
        self._pending: list[bytes] = []
        self._held: list[Event] = []
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._sending = False

    # Called by the hub, on the event loop, once per event: must stay cheap.
    def deliver(self, event: Event) -> bool:
        """Queue `event`; False when the client is gone or was just dropped for being slow."""
        if self.closed:
            return False
        if self.syncing:
            if len(self._held) >= self.limit:
                self.drop("slow")
                return False
            self._held.append(event)
            return True
        if self.last_order is not None and event.order <= self.last_order:
            # Already written: the backlog read after subscribing can hold an event whose channel
            # message arrives only after the replay.
            return True
        self.last_order = event.order
        self.active = True
        return self.push(event.data)

    def push(self, data: bytes) -> bool:
        """Queue raw frame bytes (pings, retry hints, events)."""
        pending = self._pending
        pending.append(data)
        # Behind by `limit` while the socket is not draining, or far behind in any case
        # (a burst may queue a few before the writer runs; that is not the client's fault).
        if len(pending) > self.limit and (self._sending or len(pending) > 4 * self.limit):
            self.drop("slow")
            return False
        wake = self._wake
        if wake is not None:
            self._wake = None
            wake.set_result(None)
        return True

    def replay(self, events: Iterable[Event]) -> int:
        """Write `events` (from the stream) then the live ones held meanwhile, each id once."""
        count = 0
        for event in (*events, *self._held):
            if self.last_order is None or event.order > self.last_order:
                self.last_order = event.order
                self.push(event.data)
                count += 1
        self._held.clear()
        self.syncing = False
        return count

    def resync(self) -> None:
        """Hold live events until the next `replay` (after Redis came back)."""
        self.syncing = True

    def drop(self, reason: str) -> None:
        """Disconnect: finish the response, or abort a write the socket no longer drains."""
        if self.closed:
            return
        self.closed = True
        self.drop_reason = reason
        if self._sending and self._task is not None:
            self._task.cancel()
        else:
            self.close()

    def close(self) -> None:
        self.closed = True
        wake = self._wake
        if wake is not None:
            self._wake = None
            wake.set_result(None)

    def keep_alive(self) -> None:
        """Once per ping interval: ping when no event went out, drop when one write blocked all along."""
        if self.closed:
            return
        if self._sending and self.writes == self.seen_writes:
            self.drop("stalled")
            return
        self.seen_writes = self.writes
        if not self.active:
            self.push(PING)
        self.active = False

    async def run(self, receive: Receive, send: Send) -> None:
        """Write the outbox until the client leaves or is closed; the response is already started."""
        self._task = asyncio.current_task()
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        loop = asyncio.get_running_loop()
        pending = self._pending
        try:
            while True:
                if not pending and not self.closed:
                    self._wake = loop.create_future()
                    await self._wake
                if pending:
                    body = pending[0] if len(pending) == 1 else b"".join(pending)
                    pending.clear()
                    self._sending = True
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    self._sending = False
                    self.writes += 1
                elif self.closed:
                    break
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            # Our own abort of a stalled write: the server closes the socket.
            if self.drop_reason is None:
                raise
        finally:
            self.closed = True
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.close()
