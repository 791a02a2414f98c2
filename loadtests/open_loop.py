"""Open-loop load: signed webhooks sent on a fixed schedule, whatever the server's pace.

Locust's users wait for each answer before the next request, so a slow server lowers the
offered rate and hides its own queueing (coordinated omission). Here request *i* is due at
`start + i / rate` and its answer time counts from that moment, so queueing shows.

The client shares the machine's cores with the server it measures, so it is kept lean: every
request is signed and encoded to its HTTP/1.1 bytes before the clock starts, and each
keep-alive connection is a bare asyncio protocol that only finds the status and the end of
the answer (an HTTP client library cost ~60 % of a core at 2,000/s).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

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


def encode_request(host: str, body: bytes, headers: dict[str, str], path: str = WEBHOOK_PATH) -> bytes:
    """One keep-alive `POST {path}` as the bytes on the wire."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _answer_length(head: bytes, buffer: bytearray, start: int) -> int | None:
    """Bytes the body of a lower-cased response head takes in `buffer` from `start`, or None
    while it has not all arrived (Content-Length, or a chunked body up to its last chunk)."""
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : end if end >= 0 else None])
        return length if len(buffer) - start >= length else None
    if b"\r\ntransfer-encoding: chunked" in head:
        last = buffer.find(b"0\r\n\r\n", start)
        return None if last < 0 else last + 5 - start
    return 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, client: _Client) -> None:
        self._client = client
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._request: tuple[int, float] | None = None  # (index, due) of the request in flight

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = cast(asyncio.Transport, transport)

    def send(self, index: int, due: float) -> None:
        assert self._transport is not None
        self._request = (index, due)
        self._transport.write(self._client.requests[index])

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._request is None:
            return
        head = bytes(self._buffer[:end]).lower()
        length = _answer_length(head, self._buffer, end + 4)
        if length is None:
            return
        del self._buffer[: end + 4 + length]
        index, due = self._request
        self._request = None
        self._client.answered(Answer(index, due, time.perf_counter(), int(head[9:12])))
        if b"\r\nconnection: close" in head:
            self._close()
        else:
            self._client.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._close()

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            self._client.lost(self)
        if self._request is not None:
            index, due = self._request
            self._request = None
            self._client.answered(Answer(index, due, time.perf_counter(), 0))


class _Client:
    """Hands each due request to an idle connection, opening more (up to a cap) when none is idle."""

    def __init__(self, host: str, port: int, requests: Sequence[bytes], max_connections: int) -> None:
        self.requests = requests
        self._host, self._port = host, port
        self._max = max_connections
        self._open = 0
        self._idle: deque[_Connection] = deque()
        self._waiting: deque[tuple[int, float]] = deque()
        self.answers: list[Answer] = []
        self.all_answered = asyncio.Event()

    async def connect(self) -> None:
        self._open += 1
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                lambda: _Connection(self), self._host, self._port
            )
        except OSError:
            self._open -= 1
            if self._waiting:  # answer the request that wanted this connection as failed
                index, due = self._waiting.popleft()
                self.answered(Answer(index, due, time.perf_counter(), 0))
            return
        self.idle(connection)

    def submit(self, index: int, due: float) -> asyncio.Task[None] | None:
        if self._idle:
            self._idle.pop().send(index, due)
            return None
        self._waiting.append((index, due))
        return asyncio.create_task(self.connect()) if self._open < self._max else None

    def idle(self, connection: _Connection) -> None:
        if self._waiting:
            connection.send(*self._waiting.popleft())
        else:
            self._idle.append(connection)

    def lost(self, connection: _Connection) -> None:
        self._open -= 1
        if connection in self._idle:
            self._idle.remove(connection)

    def answered(self, answer: Answer) -> None:
        self.answers.append(answer)
        if len(self.answers) == len(self.requests):
            self.all_answered.set()

    def close(self) -> None:
        for connection in list(self._idle):
            connection.connection_lost(None)


async def send_at_rate(
    base_url: str,
    hooks: Sequence[Webhook],
    secret: bytes,
    rate: float,
    *,
    max_connections: int = 1024,
    timeout_s: float = 10.0,
    prewarm: int = 32,
) -> list[Answer]:
    """POST every hook to ingest, hook *i* at `i / rate` seconds from now; all answers.

    A request still unanswered `timeout_s` after the last one was due counts as no answer (0).
    """
    # Sign and encode before the clock starts: the client's CPU is shared with the server under test.
    netloc = urlsplit(base_url).netloc
    requests = [encode_request(netloc, hook.body, hook.headers(secret)) for hook in hooks]
    return await send_encoded_at_rate(
        base_url, requests, rate, max_connections=max_connections, timeout_s=timeout_s, prewarm=prewarm
    )


async def send_encoded_at_rate(
    base_url: str,
    requests: Sequence[bytes],
    rate: float,
    *,
    max_connections: int = 1024,
    timeout_s: float = 10.0,
    prewarm: int = 32,
) -> list[Answer]:
    """Send every encoded request (`encode_request`), request *i* at `i / rate` seconds from now."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    client = _Client(host, port, requests, max_connections)
    await asyncio.gather(*(client.connect() for _ in range(min(prewarm, max_connections))))
    opening: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    sent = 0
    while sent < len(requests):
        # Everything due by now goes out in one pass; a 1 ms tick keeps the schedule tight.
        due_now = min(len(requests), int((time.perf_counter() - start) * rate) + 1)
        for index in range(sent, due_now):
            task = client.submit(index, start + index / rate)
            if task is not None:
                opening.add(task)
                task.add_done_callback(opening.discard)
        sent = due_now
        await asyncio.sleep(0.001)
    try:
        await asyncio.wait_for(client.all_answered.wait(), timeout_s)
    except TimeoutError:
        pass
    client.close()
    late = time.perf_counter()
    answered = {a.index for a in client.answers}
    missing = (i for i in range(len(requests)) if i not in answered)
    client.answers += [Answer(i, start + i / rate, late, 0) for i in missing]
    return sorted(client.answers, key=lambda a: a.index)
