"""GET /sse/{shop}: admission, then backlog replay and live events through one lean writer.

A plain ASGI endpoint rather than sse-starlette's EventSourceResponse: that response runs a
task group of several tasks per client (ping, disconnect listener, shutdown watcher, stream)
and re-encodes every event per client; here a client costs one writer coroutine and one
disconnect watcher, and an event is encoded once per process (docs/load-tests.md has the measured figures).
sse-starlette still encodes the control frames and signals uvicorn's shutdown (AppStatus).
"""

from __future__ import annotations

import redis.asyncio as redis
import structlog
from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from push import metrics
from push.admission import ConnectionCaps, InstalledShops
from push.client import Client
from push.frames import valid_stream_id
from push.hub import Hub

log = structlog.get_logger(__name__)

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx must not buffer the stream
    # Storefronts live on any custom domain and the stream is public: any origin, no credentials.
    (b"access-control-allow-origin", b"*"),
]


def refuse(status: int, reason: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Access-Control-Allow-Origin": "*"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


class SSEEndpoint:
    def __init__(
        self, hub: Hub, installed: InstalledShops, caps: ConnectionCaps, *, client_buffer: int
    ) -> None:
        self._hub = hub
        self._installed = installed
        self._caps = caps
        self._client_buffer = client_buffer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shop = scope["path_params"]["shop"].lower()
        if self._hub.draining:
            return await refuse(503, "draining", retry_after=1)(scope, receive, send)
        try:
            installed = await self._installed(shop)
        except (redis.RedisError, OSError):
            metrics.REJECTED.labels("registry_unavailable").inc()
            return await refuse(503, "shop registry unavailable", retry_after=5)(scope, receive, send)
        if not installed:
            metrics.REJECTED.labels("unknown_shop").inc()
            return await refuse(404, "unknown shop")(scope, receive, send)
        ip = scope["client"][0] if scope.get("client") else "unknown"
        refused = self._caps.acquire(ip)
        if refused:
            metrics.REJECTED.labels(refused).inc()
            return await refuse(429, f"too many connections ({refused})", retry_after=10)(
                scope, receive, send
            )
        last_id = valid_stream_id(
            Headers(scope=scope).get("last-event-id")
            or QueryParams(scope["query_string"]).get("last_event_id")
        )
        client = Client(shop, self._client_buffer)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await self._hub.join(client, last_id)
            await client.run(receive, send)
        finally:
            self._caps.release(ip)
            await self._hub.leave(client)
