"""GET /sse/{shop}: replay what the client missed from `recent:{shop}`, then stream live."""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as redis
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from push.frames import frame, id_tuple, message_from_entry, stream_id_of
from push.hub import Hub
from storepulse.contracts import is_shop_domain, recent_stream
from storepulse.probes import probe_routes
from storepulse.settings import Settings, get_settings

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
REPLAY_LIMIT = 100


def _valid_stream_id(value: str | None) -> str | None:
    if not value:
        return None
    try:
        id_tuple(value)
    except ValueError:
        return None
    return value


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    client = redis.Redis.from_url(settings.redis_url)
    hub = Hub(client)

    async def backlog(shop: str, last_id: str | None) -> list[tuple[bytes, bytes]]:
        """Entries after `last_id`, or the newest few for a first visit."""
        key = recent_stream(shop)
        if last_id:
            entries = await client.xrange(key, min=f"({last_id}", max="+", count=REPLAY_LIMIT)
        else:
            entries = list(reversed(await client.xrevrange(key, count=settings.sse_initial_backlog)))
        return [(sid, fields[b"n"]) for sid, fields in entries if b"n" in fields]

    async def sse(request: Request) -> Response:
        shop = request.path_params["shop"].lower()
        if not is_shop_domain(shop):
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        last_id = _valid_stream_id(
            request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        )
        # Join before reading the backlog so nothing published in between is lost;
        # ids already replayed are skipped, so nothing is sent twice either.
        sub = await hub.join(shop)

        async def events() -> AsyncIterator[bytes]:
            try:
                newest = id_tuple(last_id) if last_id else (0, 0)
                with contextlib.suppress(redis.RedisError, OSError):
                    for sid, payload in await backlog(shop, last_id):
                        newest = id_tuple(sid)
                        yield frame(sid, message_from_entry(sid, payload))
                while not sub.overflowed.is_set():
                    message = await sub.queue.get()
                    sid = stream_id_of(message)
                    if id_tuple(sid) <= newest:
                        continue
                    newest = id_tuple(sid)
                    yield frame(sid, message)
            finally:
                await hub.leave(sub)

        return EventSourceResponse(
            events(),
            ping=settings.sse_ping_s,
            send_timeout=10,
            headers={"X-Accel-Buffering": "no", "Cache-Control": "no-cache"},
        )

    async def widget_js(_: Request) -> Response:
        return FileResponse(WIDGET_DIR / "storepulse.js", media_type="application/javascript")

    async def demo(request: Request) -> Response:
        shop = request.path_params["shop"].lower()
        if not is_shop_domain(shop):
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        page = (WIDGET_DIR / "demo.html").read_text()
        return HTMLResponse(page.replace("{{shop}}", html.escape(shop)))

    async def ready_check() -> dict[str, bool]:
        try:
            ok = bool(await client.ping())
        except (redis.RedisError, OSError):
            ok = False
        return {"redis": ok and hub.connected.is_set()}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await hub.start()
        yield
        await hub.stop()
        await client.aclose()

    routes = [
        Route("/sse/{shop}", sse, methods=["GET"]),
        Route("/widget.js", widget_js, methods=["GET"]),
        Route("/demo/{shop}", demo, methods=["GET"]),
        *probe_routes(ready_check),
    ]
    middleware = [
        Middleware(
            CORSMiddleware, allow_origins=["*"], allow_methods=["GET"], allow_headers=["Last-Event-ID"]
        )
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
