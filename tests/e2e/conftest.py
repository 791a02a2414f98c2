"""Fixtures of the end-to-end tests that run `storepulse dev` itself."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dev_launcher import DevLauncher, running_dev


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevLauncher]:
    """`storepulse dev` (what `make run` runs), up and ready; stopped and cleaned up after."""
    with running_dev(tmp_path / "dev.log") as launcher:
        yield launcher
