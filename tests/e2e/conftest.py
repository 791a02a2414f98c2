"""Fixtures of the end-to-end tests that run `storepulse dev` itself."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.launcher import DevLauncher, running_dev


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[DevLauncher]:
    """`storepulse dev` (what `make run` runs), up and ready; stopped and cleaned up after."""
    async with running_dev(tmp_path / "dev.log") as launcher:
        yield launcher
