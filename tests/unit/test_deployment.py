"""docker-compose.yml, the Dockerfile and nginx.conf, checked without Docker.

tests/data/compose-spec.json is the Compose Specification schema as shipped in the PyPI
wheel docker-compose==1.29.2 (compose/config/compose_spec.json, sha256 0dc04bd3…2bac).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import crossplane
import jsonschema
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from storepulse.cli import build_parser
from storepulse.devstack import PORT_ENV, service_argv

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "storepulse:latest"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def storepulse_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == IMAGE}


def test_compose_file_validates_against_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "tests/data/compose-spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)


def test_compose_runs_every_piece_of_the_design(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1] == "yes"
    commands = {name: svc["command"][0] for name, svc in storepulse_services(compose).items()}
    assert sorted(commands.values()) == ["ingest", "push", "topics", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["push"]["deploy"]["replicas"] == 2
    assert services["topics"]["restart"] == "no"
    for name in ("ingest", "worker"):
        assert services[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_service_commands_are_the_ones_the_embedded_stack_runs(compose: dict[str, Any]) -> None:
    for name, svc in storepulse_services(compose).items():
        args = build_parser().parse_args(svc["command"])
        # The embedded stack runs `python -m storepulse <command>`; the image runs the same
        # CLI through its console script.
        assert service_argv(args.command)[1:4] == ["-m", "storepulse", args.command], name
        if args.command in PORT_ENV:
            assert PORT_ENV[args.command] in svc["environment"], name


def test_every_service_healthcheck_hits_ready_on_its_own_port(compose: dict[str, Any]) -> None:
    for name, svc in storepulse_services(compose).items():
        command = svc["command"][0]
        if command == "topics":
            assert "healthcheck" not in svc  # one-shot
            continue
        port = svc["environment"][PORT_ENV[command]]
        test = " ".join(svc["healthcheck"]["test"])
        assert re.search(rf"http://127\.0\.0\.1:{port}/ready\b", test), name
        assert svc["healthcheck"]["test"][1] == "python", name  # the image has no curl
    assert "/ready" in " ".join(compose["services"]["nginx"]["healthcheck"]["test"])


def test_dockerfile_entrypoint_is_the_storepulse_console_script() -> None:
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    entrypoint = [i for i in parser.structure if i["instruction"] == "ENTRYPOINT"]
    assert len(entrypoint) == 1
    assert json.loads(entrypoint[-1]["value"]) == ["storepulse"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["storepulse"] == "storepulse.cli:main"
    assert parser.baseimage.startswith("python:3.1")


def _nginx() -> dict[tuple[str, ...], dict[str, list[str]]]:
    """deploy/nginx.conf parsed: {(block, args…): {directive: args}} for every block."""
    parsed = crossplane.parse(str(ROOT / "deploy/nginx.conf"))
    assert parsed["errors"] == []
    blocks: dict[tuple[str, ...], dict[str, list[str]]] = {}

    def walk(directives: list[dict[str, Any]], key: tuple[str, ...]) -> None:
        blocks[key] = {d["directive"]: d["args"] for d in directives}
        for d in directives:
            if "block" in d:
                walk(d["block"], (d["directive"], *d["args"]))

    walk(parsed["config"][0]["parsed"], ("main",))
    return blocks


def _seconds(value: str) -> int:
    return int(value[:-1]) * {"s": 1, "m": 60, "h": 3600}[value[-1]]


def test_nginx_routes_to_the_compose_services_and_streams_sse_unbuffered(compose: dict[str, Any]) -> None:
    nginx = _nginx()
    services = compose["services"]
    for name in ("ingest", "push"):
        port = services[name]["environment"][PORT_ENV[name]]
        assert nginx[("upstream", name)]["server"] == [f"{name}:{port}"]
    assert nginx[("location", "/webhooks/")]["proxy_pass"] == ["http://ingest"]
    assert nginx[("location", "=", "/beacons")]["proxy_pass"] == ["http://ingest"]
    assert nginx[("location", "/auth/")]["proxy_pass"] == ["http://ingest"]
    sse = nginx[("location", "/sse/")]
    assert sse["proxy_pass"] == ["http://push"]
    assert sse["proxy_buffering"] == ["off"]
    assert _seconds(sse["proxy_read_timeout"][0]) > 60  # well past the 15 s SSE ping
    assert nginx[("server",)]["http2"] == ["on"]
    assert nginx[("server",)]["proxy_http_version"] == ["1.1"]


def test_env_example_sets_every_variable_compose_requires(compose: dict[str, Any]) -> None:
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    defined = set(re.findall(r"^(\w+)=", example, re.M))
    assert required and required <= defined
