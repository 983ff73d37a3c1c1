"""Structured access log: one JSON line per request on the `moderator.access` logger.

A line holds the time, method, route path, status, duration and the site id when the
request was authenticated, e.g.
`{"ts": "2026-11-25T14:02:11.123Z", "event": "request", "method": "POST",
"path": "/api/v1/moderate", "status": 200, "duration_ms": 3.4, "site_id": 7}`.
It never holds the query string (Perspective clients put their API key in `?key=`), headers,
the body or comment text. Werkzeug's own development-server line does print the query
string, so `init_app` also masks `key=` values there.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time

from flask import Flask
from flask import Response
from flask import g
from flask import request

LOGGER_NAME = "moderator.access"
log = logging.getLogger(LOGGER_NAME)

#: The fields of a request line, in order; `JsonFormatter` writes only these.
FIELDS = ("method", "path", "status", "duration_ms", "site_id")

_KEY_PARAM = re.compile(r"([?&]key=)[^&\s\"]*", re.IGNORECASE)

#: One encoder for every line (json.dumps with these arguments builds a new one each call).
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": "))


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: ts, level, event, then the request FIELDS."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single JSON line (no newline inside, whatever the values hold)."""
        fields = {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}
        return _line(record.created, record.levelname.lower(), record.getMessage(), fields)


def _line(created: float, level: str, event: str, fields: dict) -> str:
    ts = dt.datetime.fromtimestamp(created, dt.UTC)
    line = {
        "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level,
        "event": event,
    }
    line.update((name, fields[name]) for name in FIELDS if name in fields)
    return _ENCODER.encode(line)


class RedactKeyFilter(logging.Filter):
    """Mask `key=...` query parameters in werkzeug's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's string arguments in place; never drop the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _KEY_PARAM.sub(r"\1REDACTED", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _KEY_PARAM.sub(r"\1REDACTED", record.msg)
        return True


class StderrHandler(logging.StreamHandler):
    """A handler on whatever sys.stderr is when a line is written (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def write_line(self, line: str) -> None:
        """Write a formatted line as `emit` does (under the handler's lock, then flush)."""
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
            self.flush()
        finally:
            self.release()


def init_app(app: Flask) -> None:
    """Log one JSON line per request of `app` to stderr (set up once per process)."""
    if not log.handlers:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        # The lines are complete on their own; the root logger would print them twice.
        log.propagate = False
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactKeyFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactKeyFilter())
    app.before_request(_start_timer)
    app.after_request(_log_request)


def site_id() -> int | str | None:
    """The id of the site the current request authenticated as, if any."""
    site = g.get("site")
    return getattr(site, "id", None)


def _start_timer() -> None:
    g.accesslog_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    started = g.pop("accesslog_started", None)
    if not log.isEnabledFor(logging.INFO):
        return response
    duration = (time.perf_counter() - started) * 1000 if started is not None else None
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": None if duration is None else round(duration, 2),
        "site_id": site_id(),
    }
    handler = _only_handler()
    if handler is not None:
        # The logger as init_app set it up (nothing added to it since): the line is written
        # as its handler would write the record, without building one (a record and its way
        # through the logger cost more than the line itself).
        try:
            handler.write_line(_line(time.time(), "info", "request", fields))
            return response
        except Exception:
            handler.handleError(_record(fields))
            return response
    log.handle(_record(fields))
    return response


def _only_handler() -> StderrHandler | None:
    """init_app's handler when it is the logger's only one and nothing filters or reroutes
    its records; else None (every line then goes through logging as usual)."""
    handlers = log.handlers
    if len(handlers) != 1 or log.filters or log.propagate:
        return None
    handler = handlers[0]
    if (
        type(handler) is not StderrHandler
        or type(handler.formatter) is not JsonFormatter
        or handler.filters
        or handler.level > logging.INFO
    ):
        return None
    return handler


def _record(fields: dict) -> logging.LogRecord:
    # As log.info would make it, less its search of the stack for the caller's file and line,
    # which no field of the line holds.
    return log.makeRecord(
        log.name, logging.INFO, __file__, 0, "request", (), None, _log_request.__name__, fields
    )
