"""deploy/'s Prometheus rules and Grafana dashboard, and docs/operations.md's table of metrics,
agree with the metrics the code defines; every expression is valid PromQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from tests.support.metrics import defined_metrics, documented_metrics, series_names

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "storepulse.json"
DURATION = re.compile(r"^\d+[smhd]$")
# Grafana fills these in before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m"}


def selectors(node: Any) -> Iterator[str]:
    """The metric name of every vector selector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        return
    for child in ("expr", "param", "lhs", "rhs", "vector_selector"):
        if (value := getattr(node, child, None)) is not None:
            yield from selectors(value)
    for arg in getattr(node, "args", None) or ():
        yield from selectors(arg)


def named_metrics(expr: str) -> set[str]:
    """The StorePulse metrics `expr` reads (it must parse), a histogram's series by its own name."""
    parsed = promql_parser.parse(expr)
    names = {n for n in selectors(parsed) if n.startswith("storepulse_")}
    return series_names(names, [n for n, kind in defined_metrics().items() if kind == "histogram"])


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    assert groups and all(g["name"] and g["rules"] for g in groups)
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    for variable, value in GRAFANA_VARIABLES.items():
        exprs = [e.replace(variable, value) for e in exprs]
    return exprs


def test_the_docs_list_every_metric_the_code_defines_and_no_other() -> None:
    documented = documented_metrics()
    assert {name: kind for name, (_, kind) in documented.items()} == defined_metrics()
    for name, (service, _) in documented.items():
        assert name.startswith(f"storepulse_{service}_"), name


def test_alert_rules_are_complete_and_each_expression_is_promql(rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"StorePulse[A-Z]\w+", n) for n in names)
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert DURATION.match(rule.get("for", "0s")), rule["alert"]
        assert named_metrics(rule["expr"]), f"{rule['alert']} reads no StorePulse metric"


def test_the_alerts_the_operations_guide_promises_exist(rules: list[dict[str, Any]]) -> None:
    exprs = " ".join(rule["expr"] for rule in rules)
    for watched in (
        "storepulse_worker_consumer_lag",  # consumer lag
        "storepulse_worker_dead_letters_total",  # DLQ growth
        'reason=~"broker_unavailable|registry_unavailable"',  # the 5xx rate
        "storepulse_push_redis_reconnects_total",
        "storepulse_push_connections_rejected_total",
    ):
        assert watched in exprs
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert all(f"`{rule['alert']}`" in guide for rule in rules)


def test_prometheus_loads_the_rules_and_scrapes_every_service() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    targets = {
        (job["job_name"], sd["names"][0], sd["port"])
        for job in config["scrape_configs"]
        for sd in job["dns_sd_configs"]
    }
    assert targets == {
        ("storepulse-ingest", "ingest", 8000),
        ("storepulse-worker", "worker", 8002),
        ("storepulse-push", "push", 8001),
    }


def test_dashboard_panels_are_laid_out_and_query_the_templated_prometheus(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    (variable,) = dashboard["templating"]["list"]
    assert [variable[k] for k in ("name", "type", "query")] == ["datasource", "datasource", "prometheus"]
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), panel["title"]


def test_every_metric_the_rules_and_the_dashboard_name_exists(
    rules: list[dict[str, Any]], dashboard: dict[str, Any]
) -> None:
    exprs = [rule["expr"] for rule in rules] + dashboard_exprs(dashboard)
    named = set().union(*map(named_metrics, exprs))
    assert named - set(defined_metrics()) == set()
    # The dashboard shows every service's metrics, so a new metric gets a panel or a reason.
    shown = set().union(*map(named_metrics, dashboard_exprs(dashboard)))
    assert set(defined_metrics()) - shown == set()
