"""Run Python with only the production dependency set importable, as in the image.

Every installed distribution that requirements.lock does not pin (the dev, test and bench
extras, and the packaging tools themselves) becomes unimportable, and so do loadtests/ and
tests/, which the image does not hold: an import the image could not make fails here too.

    python -m tests.support.runtime_only ingest      # `storepulse ingest`, production dependencies only
"""

from __future__ import annotations

import importlib.metadata
import re
import runpy
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
SERVICE_PACKAGES = frozenset({"storepulse", "ingest", "admin", "streams", "push", "shopify"})
NOT_IN_IMAGE = frozenset({"loadtests", "tests"})


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path = LOCK) -> set[tuple[str, str]]:
    """(distribution, version) pinned by a pip-compile style lock (one name may have two,
    for different environments)."""
    pins = re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", lock.read_text(), re.M)
    return {(canonical(m[1]), m[2]) for m in pins}


def dev_only_modules() -> frozenset[str]:
    """Top-level modules that only distributions outside the lock provide."""
    runtime = {name for name, _ in locked()}
    providers = importlib.metadata.packages_distributions()
    outside = {m for m, dists in providers.items() if not {canonical(d) for d in dists} & runtime}
    return frozenset((outside - SERVICE_PACKAGES) | NOT_IN_IMAGE)


class _Refuse(MetaPathFinder):
    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname}: not in the production dependency set", name=fullname)
        return None


def restrict_imports() -> None:
    """From now on, only what the production image holds can be imported."""
    sys.meta_path.insert(0, _Refuse(dev_only_modules()))


if __name__ == "__main__":
    restrict_imports()
    sys.argv = ["storepulse", *sys.argv[1:]]
    runpy.run_module("storepulse", run_name="__main__", alter_sys=True)
