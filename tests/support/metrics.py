"""The services' metrics: one sample of a GET /metrics, and every metric the code defines."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
# Where each service defines its metrics (the worker's in one module, as ingest's and push's).
METRIC_MODULES = ("ingest.metrics", "streams.runtime.metrics", "push.metrics")
# The table rows of docs/operations.md's "Metrics": | `name` | service | type | meaning |
_DOCUMENTED = re.compile(r"^\| `(storepulse_\w+)` \| (\w+) \| (\w+) \|", re.M)


async def metrics_text(service: httpx.AsyncClient | str) -> str:
    """GET /metrics of `service`: a client with the service's base URL, or that base URL."""
    if isinstance(service, str):
        async with httpx.AsyncClient(base_url=service) as client:
            return (await client.get("/metrics")).text
    return (await service.get("/metrics")).text


async def metric(
    service: httpx.AsyncClient | str, name: str, labels: Mapping[str, str] | None = None
) -> float:
    """The sum of the samples named `name` carrying `labels` (0 when there are none)."""
    wanted = dict(labels or {}).items()
    return sum(
        sample.value
        for family in text_string_to_metric_families(await metrics_text(service))
        for sample in family.samples
        if sample.name == name and wanted <= sample.labels.items()
    )


def query_name(family: Metric) -> str:
    """The name a query uses for a family: counters with `_total`, histograms by their base name."""
    return f"{family.name}_total" if family.type == "counter" else family.name


def sampled(text: str) -> dict[str, int]:
    """Each StorePulse family in an exposition text (by query name) → how many samples it has."""
    return {
        query_name(f): len(f.samples)
        for f in text_string_to_metric_families(text)
        if f.name.startswith("storepulse_")
    }


def defined_metrics() -> dict[str, str]:
    """Every StorePulse metric the services define (query name → type), from their metric modules."""
    for module in METRIC_MODULES:
        importlib.import_module(module)  # registers its metrics
    return {query_name(f): f.type for f in REGISTRY.collect() if f.name.startswith("storepulse_")}


def documented_metrics() -> dict[str, tuple[str, str]]:
    """docs/operations.md's table of metrics: name → (service, type)."""
    text = (ROOT / "docs" / "operations.md").read_text()
    return {name: (service, kind) for name, service, kind in _DOCUMENTED.findall(text)}


def series_names(names: Iterable[str], histograms: Iterable[str]) -> set[str]:
    """`names` as metrics: a histogram's `_bucket`, `_sum` and `_count` series name the histogram."""
    bases = set(histograms)
    return {base if (base := re.sub(r"_(bucket|sum|count)$", "", name)) in bases else name for name in names}
