"""What the services' logs may hold: library log lines go through the same JSON renderer and filters."""

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest

from storepulse.logging import configure_logging

SIGNED = "https://storage.googleapis.com/bulk/ops-1.jsonl?X-Goog-Signature=deadbeef&X-Goog-Expires=604800"


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """What the services' logging writes (to stderr in a service)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    yield out
    root.handlers[:], root.level = handlers, level


def test_httpx_request_lines_keep_the_url_but_not_its_query_string(logged: io.StringIO) -> None:
    # What httpx logs for every request it makes (httpx/_client.py).
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s %d %s"', "GET", httpx.URL(SIGNED), "HTTP/1.1", 200, "OK"
    )
    [line] = logged.getvalue().splitlines()
    event = orjson.loads(line)
    assert event["event"] == (
        'HTTP Request: GET https://storage.googleapis.com/bulk/ops-1.jsonl?… "HTTP/1.1 200 OK"'
    )
    assert event["logger"] == "httpx"
    assert "deadbeef" not in line


def test_lines_without_urls_are_left_alone(logged: io.StringIO) -> None:
    logging.getLogger("aiokafka").warning("Heartbeat failed for group %s? retrying", "g1")
    [line] = logged.getvalue().splitlines()
    assert orjson.loads(line)["event"] == "Heartbeat failed for group g1? retrying"
