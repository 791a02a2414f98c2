"""The push server: SSE streams, sold counters, the widget script and the demo page with its images."""

from __future__ import annotations

import contextlib
import gc
import html
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import get_args

import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from push.admission import ConnectionCaps, InstalledShops
from push.counters import SoldCounter
from push.hub import Hub
from push.stream import SSEEndpoint
from storepulse.contracts import WidgetPosition, is_shop_domain
from storepulse.probes import probe_routes
from storepulse.redis_client import redis_client
from storepulse.settings import Settings, get_settings
from storepulse.shops import ShopRegistry

SSE_PREFIX = "/sse/"
WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
# The demo catalog's product images (the simulator's products point here, absolute).
DEMO_ASSETS_PATH = "/demo-assets"


def widget_options(query: Mapping[str, str]) -> dict[str, str]:
    """The widget's data-* options a demo URL may set (?position=bottom-right&gap-ms=0…)."""
    options = {
        k: query[k]
        for k in ("gap-ms", "max", "duration-ms", "delay-ms", "product-id")
        if query.get(k, "").isdigit()
    }
    if query.get("position") in get_args(WidgetPosition):
        options["position"] = query["position"]
    return options


def tune_gc() -> None:
    """Fewer, larger young collections: with 10k clients the collector's walks over long-lived
    connection objects cost ~20 % of the CPU per delivery (py-spy, loadtests/bench_push.py)."""
    gc.freeze()  # what was imported and built at startup is never garbage
    gc.set_threshold(50_000, 50, 100)


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
    client = redis_client(settings)
    hub = Hub(
        client,
        initial_backlog=settings.sse_initial_backlog,
        replay_limit=settings.recent_maxlen,
        ping_s=settings.sse_ping_s,
        retry_ms=settings.push_retry_ms,
    )
    installed = InstalledShops(
        ShopRegistry(client, cipher=None),  # statuses only: push holds no secret
        settings.shop_cache_s,
        dev_any_shop=settings.dev_auto_install,
    )
    sse = SSEEndpoint(
        hub,
        installed,
        ConnectionCaps(settings.push_max_connections, settings.push_max_per_ip),
        client_buffer=settings.push_client_buffer,
    )

    async def widget_js(_: Request) -> Response:
        return FileResponse(
            WIDGET_DIR / "storepulse.js",
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def demo(request: Request) -> Response:
        shop = request.path_params["shop"].lower()
        if not is_shop_domain(shop):
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        beacons = settings.public_ingest_url or f"http://{settings.host}:{settings.ingest_port}"
        attrs = {"beacons": beacons, **widget_options(request.query_params)}
        page = (WIDGET_DIR / "demo.html").read_text().replace("{{shop}}", html.escape(shop))
        widget_attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in attrs.items())
        return HTMLResponse(page.replace("{{widget_attrs}}", widget_attrs))

    async def ready_check() -> dict[str, bool]:
        try:
            ok = bool(await client.ping())
        except (redis.RedisError, OSError):
            ok = False
        return {"redis": ok and hub.connected.is_set(), "accepting": not hub.draining}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tune_gc()
        await hub.start()
        yield
        await hub.stop()
        await client.aclose()

    routes = [
        Route("/sse/{shop}", sse, methods=["GET"]),  # reached by preflights; GETs take the bypass below
        Route("/widget.js", widget_js, methods=["GET"]),
        Route("/counters/{shop}/{product_id}", SoldCounter(client, installed).answer, methods=["GET"]),
        Route("/demo/{shop}", demo, methods=["GET"]),
        # The same page at any storefront path (/demo/{shop}/checkouts/1): the widget's page rules.
        Route("/demo/{shop}/{page:path}", demo, methods=["GET"]),
        Mount(DEMO_ASSETS_PATH, StaticFiles(directory=WIDGET_DIR / "demo-assets")),
        *probe_routes(ready_check),
    ]
    # Storefronts live on any custom domain and the stream is public: any origin, no credentials.
    middleware = [
        Middleware(
            CORSMiddleware, allow_origins=["*"], allow_methods=["GET"], allow_headers=["Last-Event-ID"]
        )
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)

    async def push_app(scope: Scope, receive: Receive, send: Send) -> None:
        # Stream GETs skip the middleware stack: every event write would otherwise pass
        # through three wrapper coroutines (~10 % of the CPU per delivery, measured with py-spy).
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] == "GET" and path.startswith(SSE_PREFIX):
            shop = path[len(SSE_PREFIX) :]
            if shop and "/" not in shop:
                scope["path_params"] = {"shop": shop}
                return await sse(scope, receive, send)
        await app(scope, receive, send)

    return push_app
