"""structlog JSON logging for every service."""

from __future__ import annotations

import logging
import re
import sys

import structlog

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


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr; the stdlib loggers of libraries go through the same renderer."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    handler.addFilter(WithoutQueryStrings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
