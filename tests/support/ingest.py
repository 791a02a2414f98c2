"""Ingest run in-process (httpx.ASGITransport) against the real broker and Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ingest.app import create_app
from storepulse.devstack import Stack
from storepulse.settings import Settings


def ingest_settings(stack: Stack, **overrides: Any) -> Settings:
    return stack.settings(**{"kafka_idempotent": False, **overrides})


@contextlib.asynccontextmanager
async def in_process_ingest(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests go straight into a fresh ingest app (lifespan included)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", timeout=30) as client:
            yield client
