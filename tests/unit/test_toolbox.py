"""Tests share helpers through tests/support and tests/fake_shopify only, never through each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ("tests.support.", "tests.fake_shopify.")


def _package_of(path: Path) -> list[str]:
    """The package a file of tests/ is in, for resolving its relative imports."""
    return list(path.relative_to(ROOT).parent.parts)


def _borrowed(source: str, path: Path) -> list[str]:
    """`line: module` for each import of a tests module that is not shared (conftest included)."""
    package = _package_of(path)
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *filter(None, [node.module])])
            # `from tests.e2e import test_pipeline` imports a module too: each name counts as one.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return [f"{line}: {m}" for line, m in found if m.split(".")[0] == "tests" and not m.startswith(SHARED)]


def test_no_test_module_imports_another() -> None:
    borrowed = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (found := _borrowed(path.read_text(), path))
    }
    assert borrowed == {}


def test_the_check_finds_what_it_looks_for() -> None:
    source = (
        "from tests.conftest import SECRET\n"
        "from tests.e2e.test_pipeline import post\n"
        "from . import test_backfill\n"
        "from .test_compliance import buy\n"
        "import tests.sse\n"
        "from ..push.helpers import note\n"
        "from tests.support.kafka import read\n"
        "from tests.support import webhooks\n"
        "from tests.fake_shopify import FakeShopify\n"
    )
    assert _borrowed(source, ROOT / "tests" / "e2e" / "test_borrower.py") == [
        "1: tests.conftest.SECRET",
        "2: tests.e2e.test_pipeline.post",
        "3: tests.e2e.test_backfill",
        "4: tests.e2e.test_compliance.buy",
        "5: tests.sse",
        "6: tests.push.helpers.note",
    ]
