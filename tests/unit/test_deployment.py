"""docker-compose.yml, .env.example, the Dockerfile and nginx.conf, checked without Docker.

tests/data/compose-spec.json is the Compose Specification schema as shipped in the PyPI
wheel docker-compose==1.29.2 (compose/config/compose_spec.json, sha256 0dc04bd3…2bac).
The compose file is read as `docker compose` reads it: ${...} filled in from .env.example.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import tomllib
from pathlib import Path
from typing import Any

import crossplane
import jsonschema
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from pydantic import SecretStr

from storepulse.cli import build_parser
from storepulse.devstack import PORT_ENV, service_argv
from storepulse.settings import SET_BY_DEPLOYMENT, Settings
from streams.app import canonical_url
from tests.support.settings_reads import fields_read

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "storepulse:latest"
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def env_example() -> dict[str, str]:
    return dict(re.findall(r"^(\w+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} in every string of the file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def fill(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if env.get(name) or (name in env and not (op or "").startswith(":")):
            return env[name]
        assert op and op.endswith("-"), f"${{{name}}} is not set: {arg}"
        return arg

    return VARIABLE.sub(fill, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return interpolate(yaml.safe_load((ROOT / "docker-compose.yml").read_text()), env_example())


def env_name(field: str) -> str:
    """The environment variable that sets a Settings field."""
    alias = Settings.model_fields[field].validation_alias
    return alias.choices[0] if alias else f"STOREPULSE_{field.upper()}"  # type: ignore[union-attr]


SECRETS = {f for f, info in Settings.model_fields.items() if info.annotation is SecretStr}


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
        # The embedded stack and the image both run `python -m storepulse <command>`.
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


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(str(ROOT / "Dockerfile"))


def instructions(dockerfile: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in dockerfile.structure if i["instruction"] == name]


def test_dockerfile_runs_the_storepulse_cli_as_the_embedded_stack_does(dockerfile: DockerfileParser) -> None:
    assert [json.loads(v) for v in instructions(dockerfile, "ENTRYPOINT")] == [["python", "-m", "storepulse"]]
    assert "from storepulse.cli import main" in (ROOT / "storepulse/__main__.py").read_text()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert dockerfile.baseimage.startswith("python:" + requires.removeprefix(">="))


def test_image_is_built_in_stages_from_the_lock_and_runs_as_non_root(dockerfile: DockerfileParser) -> None:
    assert len(dockerfile.parent_images) >= 2  # dependencies installed in a stage of their own
    installs = [v for v in instructions(dockerfile, "RUN") if "install" in v]
    assert len(installs) == 1
    assert "--require-hashes" in installs[0] and "-r /tmp/requirements.lock" in installs[0]
    assert "requirements.lock /tmp/requirements.lock" in instructions(dockerfile, "COPY")
    assert instructions(dockerfile, "USER")[-1] not in ("root", "0")


def test_image_holds_the_services_and_the_widget_but_no_tests_or_load_tests(
    dockerfile: DockerfileParser,
) -> None:
    copied = {v.split()[0] for v in instructions(dockerfile, "COPY") if not v.startswith("--from")}
    services = {"storepulse", "shopify", "ingest", "admin", "streams", "push", "widget"}
    assert copied - {"requirements.lock"} == services
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"loadtests", "tests", "requirements-dev.lock"} <= ignored


@pytest.fixture(scope="module")
def nginx() -> dict[str, Any]:
    """deploy/nginx.conf parsed: the http block's directives and its servers."""
    parsed = crossplane.parse(str(ROOT / "deploy/nginx.conf"))
    assert parsed["errors"] == []
    http = next(d for d in parsed["config"][0]["parsed"] if d["directive"] == "http")
    servers = [d["block"] for d in http["block"] if d["directive"] == "server"]
    upstreams = {d["args"][0]: _directives(d["block"]) for d in http["block"] if d["directive"] == "upstream"}
    return {"http": _directives(http["block"]), "servers": servers, "upstreams": upstreams}


def _directives(block: list[dict[str, Any]]) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    for d in block:
        found.setdefault(d["directive"], []).append(d["args"])
    return found


def server(nginx: dict[str, Any], listen: list[str]) -> list[dict[str, Any]]:
    return next(s for s in nginx["servers"] if _directives(s)["listen"] == [listen])


def route(block: list[dict[str, Any]], path: str) -> dict[str, list[list[str]]]:
    """The location nginx picks for `path`: an exact match, else the longest prefix."""
    locations = [d for d in block if d["directive"] == "location"]
    assert all(d["args"][0] == "=" or d["args"][0].startswith("/") for d in locations)  # no regexes
    exact = [d for d in locations if d["args"] == ["=", path]]
    prefixes = [d for d in locations if len(d["args"]) == 1 and path.startswith(d["args"][0])]
    chosen = exact[0] if exact else max(prefixes, key=lambda d: len(d["args"][0]))
    return _directives(chosen["block"])


def _seconds(value: str) -> int:
    return int(value[:-1]) * {"s": 1, "m": 60, "h": 3600}[value[-1]]


PUBLIC = {
    "/webhooks/shopify": "ingest",
    "/beacons": "ingest",
    "/auth/install": "ingest",
    "/auth/callback": "ingest",
    "/app": "ingest",
    "/app/customers": "ingest",
    "/sse/demo.myshopify.com": "push",
    "/widget.js": "push",
    "/counters/demo.myshopify.com/632910392": "push",
}
INTERNAL = ["/metrics", "/ready", "/health", "/demo/demo.myshopify.com", "/shops/x/vips", "/"]


def test_nginx_routes_public_paths_over_tls_and_http2_and_nothing_else(
    compose: dict[str, Any], nginx: dict[str, Any]
) -> None:
    tls = server(nginx, ["443", "ssl"])
    assert _directives(tls)["http2"] == [["on"]]
    for path, upstream in PUBLIC.items():
        assert route(tls, path).get("proxy_pass") == [[f"http://{upstream}"]], path
    for path in INTERNAL:
        assert "proxy_pass" not in route(tls, path) and route(tls, path)["return"] == [["404"]], path
    sse = route(tls, "/sse/demo.myshopify.com")
    assert sse["proxy_buffering"] == [["off"]]
    assert _seconds(sse["proxy_read_timeout"][0][0]) > 60  # well past the 15 s SSE ping
    plain = server(nginx, ["80"])
    assert route(plain, "/webhooks/shopify")["return"] == [["301", "https://$host$request_uri"]]


def test_nginx_upstreams_are_the_compose_services(compose: dict[str, Any], nginx: dict[str, Any]) -> None:
    for name in ("ingest", "push"):
        port = compose["services"][name]["environment"][PORT_ENV[name]]
        assert nginx["upstreams"][name]["server"] == [[f"{name}:{port}"]]


def test_nginx_serves_tls_from_the_mounted_certificates(
    compose: dict[str, Any], nginx: dict[str, Any]
) -> None:
    tls = _directives(server(nginx, ["443", "ssl"]))
    mounts = dict(v.rsplit(":", 2)[1:] for v in compose["services"]["nginx"]["volumes"])
    assert mounts["/etc/nginx/certs"] == "ro"
    for directive in ("ssl_certificate", "ssl_certificate_key"):
        assert tls[directive][0][0].startswith("/etc/nginx/certs/"), directive
    published = {p.split(":")[-1] for p in compose["services"]["nginx"]["ports"]}
    assert published == {"443", "80"}


def test_nginx_sets_the_client_address_from_the_connection_for_every_location(nginx: dict[str, Any]) -> None:
    headers = {args[0]: args[1] for args in nginx["http"]["proxy_set_header"]}
    assert headers["X-Forwarded-For"] == headers["X-Real-IP"] == "$remote_addr"
    assert nginx["http"]["proxy_http_version"] == [["1.1"]]
    # A block that sets any proxy_set_header of its own would drop the inherited ones.
    for block in nginx["servers"]:
        for d in block:
            assert d["directive"] != "proxy_set_header"
            assert all(inner["directive"] != "proxy_set_header" for inner in d.get("block", []))


def test_nginx_compresses_text_but_never_the_event_stream(nginx: dict[str, Any]) -> None:
    http = nginx["http"]
    assert http["gzip"] == [["on"]] and http["gzip_proxied"] == [["any"]]
    types = set(http["gzip_types"][0])
    assert {"application/javascript", "application/json", "text/css"} <= types
    assert "text/event-stream" not in types


def test_nginx_health_check_uses_a_listener_only_the_container_reaches(
    compose: dict[str, Any], nginx: dict[str, Any]
) -> None:
    health = server(nginx, ["127.0.0.1:8081"])
    assert route(health, "/ready")["proxy_pass"] == [["http://push"]]
    assert "http://127.0.0.1:8081/ready" in compose["services"]["nginx"]["healthcheck"]["test"]


def test_every_service_gets_the_settings_it_reads_and_only_its_own_secrets(compose: dict[str, Any]) -> None:
    image_env = set(DockerfileParser(str(ROOT / "Dockerfile")).envs)
    for name, svc in storepulse_services(compose).items():
        reads = fields_read(svc["command"][0])
        given = set(svc["environment"])
        missing = {env_name(f) for f in reads & SET_BY_DEPLOYMENT} - given - image_env
        assert not missing, f"{name} reads {missing} but compose does not set them"
        assert given <= {env_name(f) for f in reads}, f"{name} gets variables it never reads"
        assert given & {env_name(f) for f in SECRETS} == {env_name(f) for f in reads & SECRETS}, name


def test_secrets_go_only_where_they_are_used(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "STOREPULSE_ADMIN_TOKEN" in services["worker"]["environment"]
    assert not {env_name(f) for f in SECRETS} & set(services["push"]["environment"])
    assert not {env_name(f) for f in SECRETS} & set(services["topics"]["environment"])


def test_env_example_defines_exactly_the_variables_compose_uses() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = {m.group(1) for m in VARIABLE.finditer(text)}
    assert used == set(env_example())
    required = {m.group(1) for m in VARIABLE.finditer(text) if m.group(2) in (":?", "?")}
    assert {"SHOPIFY_API_KEY", "STOREPULSE_PUBLIC_URL", "STOREPULSE_ADMIN_TOKEN"} <= required


def test_services_believe_forwarded_addresses_only_from_the_proxys_network(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["nginx"]["networks"] == ["edge"]
    subnets = [c["subnet"] for c in compose["networks"]["edge"]["ipam"]["config"]]
    trusting = [
        n
        for n, s in storepulse_services(compose).items()
        if "forwarded_allow_ips" in fields_read(s["command"][0])
    ]
    assert sorted(trusting) == ["ingest", "push"]
    for name in trusting:
        allowed = services[name]["environment"]["STOREPULSE_FORWARDED_ALLOW_IPS"]
        assert allowed.split(",") == subnets, name
        assert "edge" in services[name]["networks"], name
        assert ipaddress.ip_network(allowed).prefixlen >= 8, name  # a network, never "*" or 0.0.0.0/0
    edge = {n for n, s in services.items() if "edge" in s.get("networks", [])}
    assert edge == {"nginx", "ingest", "push"}  # no other peer on it could claim an address


def test_redis_refuses_writes_when_full_instead_of_evicting_the_shop_registry(
    compose: dict[str, Any],
) -> None:
    command = compose["services"]["redis"]["command"]
    option = {command[i]: command[i + 1] for i in range(1, len(command) - 1) if command[i].startswith("--")}
    assert option["--maxmemory-policy"] == "noeviction"
    assert re.fullmatch(r"[1-9]\d*(kb|mb|gb)?", option["--maxmemory"].lower())


def test_every_worker_advertises_its_own_url(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = compose["services"]["worker"]
    assert worker["deploy"]["replicas"] > 1
    assert env_name("worker_url") not in worker["environment"]  # one value would be every replica's
    image = Settings(host=DockerfileParser(str(ROOT / "Dockerfile")).envs[env_name("host")])
    urls = set()
    for container in ("a1b2c3d4e5f6", "f6e5d4c3b2a1"):
        monkeypatch.setattr(socket, "gethostname", lambda name=container: name)
        urls.add(canonical_url(image))
    assert urls == {"http://a1b2c3d4e5f6:8002", "http://f6e5d4c3b2a1:8002"}
    assert (
        canonical_url(Settings(worker_url="http://worker-0.workers:8002")) == "http://worker-0.workers:8002"
    )
