"""Fixtures of the end-to-end tests: `storepulse dev` itself, a stack of a module's own, and a
headless Chromium per browser-test module."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from storepulse.devstack import Stack
from tests.support.browser import chromium
from tests.support.launcher import DevLauncher, running_dev


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def own_stack(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A broker and Redis of the module's own, for workers the session's worker must not disturb."""
    s = Stack(env={"SHOPIFY_API_SECRET": stack.env["SHOPIFY_API_SECRET"], "LOG_LEVEL": "info"})
    s.log_dir = tmp_path_factory.mktemp("own-stack-logs")
    s.start_infra()
    yield s
    s.stop()


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[DevLauncher]:
    """`storepulse dev` (what `make run` runs), up and ready; stopped and cleaned up after."""
    async with running_dev(tmp_path / "dev.log") as launcher:
        yield launcher
