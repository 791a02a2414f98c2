"""What a test runs against: the stack's secrets, the services and shops of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from storepulse.devstack import Child, Stack
from storepulse.shops import open_registry

SECRET = b"test-secret"
OLD_SECRET = b"old-secret"
ADMIN_TOKEN = "test-admin-token"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SHOP_TOKEN = "shpat_test_token"

STACK_ENV = {
    "SHOPIFY_API_SECRET": f"{SECRET.decode()},{OLD_SECRET.decode()}",
    "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN,
    "LOG_LEVEL": "info",
    # No worker writes tags to a real Shopify: tests that check write-back point one at the fake.
    "STOREPULSE_WRITEBACK_DRY_RUN": "true",
}


def worker_env() -> dict[str, str]:
    # A fresh group per worker start: Tansu keeps the session timeout of a group's creator.
    return {
        "STOREPULSE_APP_ID": f"storepulse-test-{uuid.uuid4().hex[:8]}",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "2.0",
        "STOREPULSE_BROKER_HEARTBEAT_INTERVAL": "0.5",
        # Look for VIP dropoffs every second, so a test sees one happen.
        "STOREPULSE_CUSTOMER_REFRESH_S": "1",
        # A sync a test asks for never reaches a real Shopify (nothing listens on port 9): tests
        # of the sync point a worker at the fake.
        "SHOPIFY_ADMIN_BASE_URL": "http://127.0.0.1:9/{shop}",
    }


@dataclass
class Services:
    stack: Stack
    ingest: Child
    worker: Child
    push: Child
    # The worker's Faust app id: its tables' changelogs are `{app_id}-{table}-changelog`.
    worker_app_id: str

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest.port}"

    @property
    def push_url(self) -> str:
        return f"http://127.0.0.1:{self.push.port}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.worker.port}"


def new_shop_domain() -> str:
    return f"test-{uuid.uuid4().hex[:10]}.myshopify.com"


async def install_shop(stack: Stack, shop: str, token: str = SHOP_TOKEN, *, redis_url: str = "") -> None:
    """Register `shop` as installed (ingest drops other shops' webhooks), its token encrypted as the
    stack's services encrypt it, in the stack's registry or the one at `redis_url`."""
    registry = open_registry(stack.settings(**({"REDIS_URL": redis_url} if redis_url else {})))
    try:
        await registry.install(shop, token)
    finally:
        await registry.aclose()


async def put_settings(services: Services, shop: str, **rules: Any) -> httpx.Response:
    """The shop's settings through the worker's admin API."""
    async with httpx.AsyncClient(base_url=services.worker_url, headers=ADMIN_AUTH, timeout=15) as client:
        return await client.put(f"/shops/{shop}/settings", json=rules)
