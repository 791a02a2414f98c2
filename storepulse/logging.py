"""structlog logging for every service: JSON lines, or one readable line per event on a terminal."""

from __future__ import annotations

import io
import logging
import os
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor


def console_wanted(log_format: str, stream: TextIO | io.TextIOBase) -> bool:
    """Whether `log_format` ("auto", "json" or "console") means readable lines on `stream`."""
    return log_format == "console" or (log_format == "auto" and stream.isatty())


def colors_wanted(stream: TextIO | io.TextIOBase) -> bool:
    """Colours on a terminal, or when asked for (FORCE_COLOR: the dev launcher reads a child's
    output through a pipe and shows it on its terminal); never with NO_COLOR (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def _level_only_when_not_info(_: Any, __: str, event: EventDict) -> EventDict:
    # Most lines are info: naming it on each is noise, a warning stands out without it.
    if event.get("level") == "info":
        del event["level"]
    return event


def configure_logging(
    level: str = "info", log_format: str = "auto", stream: TextIO | io.TextIOBase | None = None
) -> None:
    """Everything on `stream` (stderr), the stdlib loggers of libraries through the same renderer.

    Console lines (`12:01:02 webhook_rejected reason=…`) are for someone watching: there the
    libraries' info chatter (Faust's service start-ups, Kafka group joins, uvicorn's banners) is
    left out unless `level` is debug; their warnings still show. JSON keeps everything.
    """
    stream = stream or sys.stderr
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    console = console_wanted(log_format, stream)
    renderer: Processor
    if console:
        stamp = structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False)
        renderer = structlog.dev.ConsoleRenderer(
            colors=colors_wanted(stream), pad_event_to=0, pad_level=False, sort_keys=False
        )
        shown = [_level_only_when_not_info, renderer]
    else:
        stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
        renderer = structlog.processors.JSONRenderer()
        shown = [structlog.processors.format_exc_info, renderer]
    shared = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level, stamp]
    structlog.configure(
        processors=[*shared, *shown],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # One write per line (PrintLogger's print() makes two without buffering, PYTHONUNBUFFERED):
        # the dev stack's processes share one output, and half lines would interleave.
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *shown],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    if console and numeric > logging.DEBUG:
        handler.setLevel(max(numeric, logging.WARNING))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # httpx logs every request at info: the launcher's readiness polls and webhooks, ingest's
    # calls to a worker for each page of the merchant's app. What made a call logs what matters
    # (LOG_LEVEL=debug shows them all).
    logging.getLogger("httpx").setLevel(
        numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    )
