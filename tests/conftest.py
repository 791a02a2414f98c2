"""Shared fixtures: the real embedded broker and Redis, and the services as subprocesses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from loadtests.payloads import Webhook
from storepulse.devstack import Child, Stack, wait_ready
from storepulse.shops import open_registry

SECRET = b"test-secret"
OLD_SECRET = b"old-secret"
ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Tansu and Redis on free loopback ports, started by the same launcher as `make run`."""
    logs = tmp_path_factory.mktemp("logs")
    s = Stack(
        env={
            "SHOPIFY_API_SECRET": f"{SECRET.decode()},{OLD_SECRET.decode()}",
            "STOREPULSE_ADMIN_TOKEN": ADMIN_TOKEN,
            "LOG_LEVEL": "info",
            # No worker writes tags to a real Shopify: tests that check write-back point one at the fake.
            "STOREPULSE_WRITEBACK_DRY_RUN": "true",
        },
        log_dir=logs,
    )
    s.start_infra()
    yield s
    s.stop()


def worker_env() -> dict[str, str]:
    # A fresh group per worker start: Tansu keeps the session timeout of a group's creator.
    return {
        "STOREPULSE_APP_ID": f"storepulse-test-{uuid.uuid4().hex[:8]}",
        "STOREPULSE_BROKER_SESSION_TIMEOUT": "2.0",
        "STOREPULSE_BROKER_HEARTBEAT_INTERVAL": "0.5",
        # Look for VIP dropoffs every second, so a test sees one happen.
        "STOREPULSE_CUSTOMER_REFRESH_S": "1",
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


@pytest.fixture(scope="session")
def services(stack: Stack) -> Iterator[Services]:
    """ingest, one worker and push, as `storepulse dev` starts them."""
    ingest = stack.start_service("ingest")
    env = worker_env()
    worker = stack.start_service("worker", extra_env=env)
    push = stack.start_service("push")
    for child in (ingest, worker, push):
        wait_ready(child.port, 60, child)
    yield Services(stack, ingest, worker, push, env["STOREPULSE_APP_ID"])
    for child in (push, worker, ingest):
        child.stop()


def new_shop_domain() -> str:
    return f"test-{uuid.uuid4().hex[:10]}.myshopify.com"


@pytest.fixture
async def shop(stack: Stack) -> str:
    """A shop of its own for each test, so tests never see each other's events.

    Registered as installed: ingest drops webhooks of shops that did not install the app.
    """
    domain = new_shop_domain()
    registry = open_registry(stack.settings())
    try:
        await registry.install(domain, "shpat_test_token")
    finally:
        await registry.aclose()
    return domain


def signed_headers(hook: Webhook, secret: bytes = SECRET) -> dict[str, str]:
    return hook.headers(secret)
