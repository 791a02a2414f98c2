"""One sample of a service's GET /metrics, read with prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families


async def metric(
    service: httpx.AsyncClient | str, name: str, labels: Mapping[str, str] | None = None
) -> float:
    """The sum of the samples named `name` carrying `labels` (0 when there are none).

    `service` is a client with the service's base URL, or that base URL.
    """
    if isinstance(service, str):
        async with httpx.AsyncClient(base_url=service) as client:
            text = (await client.get("/metrics")).text
    else:
        text = (await service.get("/metrics")).text
    wanted = dict(labels or {}).items()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and wanted <= sample.labels.items()
    )
