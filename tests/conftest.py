"""Shared fixtures: the real embedded broker and Redis, the services as subprocesses, and
what tests hold on to them (helpers live in tests/support)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis.asyncio as redis

from storepulse.devstack import Stack, wait_ready
from storepulse.shops import ShopRegistry, token_cipher
from tests.support.stack import STACK_ENV, Services, install_shop, new_shop_domain, worker_env
from tests.support.state import redis_of


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Tansu and Redis on free loopback ports, started by the same launcher as `make run`."""
    s = Stack(env=dict(STACK_ENV), log_dir=tmp_path_factory.mktemp("logs"))
    s.start_infra()
    yield s
    s.stop()


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


@pytest.fixture
async def ingest(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the ingest process (integration tests put an in-process ingest under this name)."""
    async with httpx.AsyncClient(base_url=services.ingest_url) as client:
        yield client


@pytest.fixture
async def shop(stack: Stack) -> str:
    """A shop of its own for each test, so tests never see each other's events.

    Registered as installed: ingest drops webhooks of shops that did not install the app.
    """
    domain = new_shop_domain()
    await install_shop(stack, domain)
    return domain


@pytest.fixture
async def redis_client(stack: Stack) -> AsyncIterator[redis.Redis]:
    async with redis_of(stack) as client:
        yield client


@pytest.fixture
def registry(stack: Stack, redis_client: redis.Redis) -> ShopRegistry:
    """The shop registry, its tokens encrypted as the services encrypt them."""
    return ShopRegistry(redis_client, token_cipher(stack.settings()))
