"""GET /health, /ready and /metrics: the same three routes on every Starlette service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storepulse.metrics_registry import scrape

ReadyCheck = Callable[[], Awaitable[dict[str, bool]]]


def probe_routes(ready_check: ReadyCheck) -> list[Route]:
    """`ready_check` names each dependency and whether it is reachable now."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        deps = await ready_check()
        ok = all(deps.values())
        return JSONResponse({"ready": ok, **deps}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(scrape(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
