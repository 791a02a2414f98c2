"""structlog logging for every service: JSON lines, or one readable line per event on a terminal."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict, Processor

# A URL's query string: a pre-signed link (a bulk operation's result file, a bearer link to every
# order of a shop) carries its credential there, and httpx logs each request's URL at INFO.
_QUERY = re.compile(r"(\w+://[^\s?#\"']*)\?[^\s#\"']*")


class WithoutQueryStrings(logging.Filter):
    """Replaces the query string of every URL in a library's log line with `?…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _QUERY.sub(r"\1?…", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


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
    shown: list[Processor]
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
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        stamp,
    ]
    structlog.configure(
        processors=[*shared, *shown],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # One write per line (PrintLogger's print() makes two without buffering, PYTHONUNBUFFERED):
        # the dev stack's processes share one output, and half lines would interleave.
        # Typed for TextIO; it only writes and flushes, which the launcher's TextIOBase streams do.
        logger_factory=structlog.WriteLoggerFactory(file=cast(TextIO, stream)),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *shown],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    handler.addFilter(WithoutQueryStrings())
    if console and numeric > logging.DEBUG:
        handler.setLevel(max(numeric, logging.WARNING))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
