"""The one error shape: RFC 9457 `application/problem+json`.

`problem()` builds every JSON error body, whether it comes from our own `ApiError`, from
Flask/Werkzeug (404, 405, 413 from MAX_CONTENT_LENGTH, 429 and 503 from `ratelimit`) or from an
unexpected exception (a bare 500, logged with its traceback, never with request data).
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Iterable
from collections.abc import Mapping

from flask import Flask
from flask import Response
from flask import json
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"

#: Seconds a client should wait before retrying when the database is unavailable.
STORAGE_RETRY_AFTER = 5


#: A problem lists at most this many field errors; `more_errors` counts the ones left out.
MAX_FIELD_ERRORS = 20


class ApiError(Exception):
    """An error answered as a problem: status, a one-line detail and optional field errors.

    Only the first MAX_FIELD_ERRORS field errors are kept (the rest are counted in
    `more_errors`), so a body with 100,000 bad fields costs a short list, not a huge one.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Iterable[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        more_errors: int = 0,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        found = iter(errors)
        self.errors = [dict(e) for e in itertools.islice(found, MAX_FIELD_ERRORS)]
        self.more_errors = more_errors + sum(1 for _ in found)
        self.headers = dict(headers or {})

    def to_dict(self) -> dict:
        """The problem body for this error (used as-is for batch items)."""
        return problem_body(self.status, self.detail, self.errors, self.more_errors)


def problem_body(
    status: int,
    detail: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
    more_errors: int = 0,
) -> dict:
    """The problem object: type, title, status, detail and, when there are any, errors.

    `errors` holds at most MAX_FIELD_ERRORS entries; `more_errors` (present only when some
    were left out) says how many more there were. Callers may add keys (a batch item adds
    `index`) but must not remove these.
    """
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or HTTP_STATUS_CODES.get(status, "Error"),
    }
    found = iter(errors)
    listed = [dict(e) for e in itertools.islice(found, MAX_FIELD_ERRORS)]
    more_errors += sum(1 for _ in found)
    if listed:
        body["errors"] = listed
    if more_errors:
        body["more_errors"] = more_errors
    return body


def problem(
    status: int,
    detail: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    more_errors: int = 0,
    **extra,
) -> Response:
    """An application/problem+json response."""
    body = problem_body(status, detail, errors, more_errors)
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer ApiError, HTTP errors and unexpected exceptions with problem bodies."""
    from moderator.storage import StorageUnavailable

    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(StorageUnavailable, _handle_storage_unavailable)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)


def _handle_api_error(error: ApiError) -> Response:
    return problem(
        error.status, error.detail, error.errors, error.headers, more_errors=error.more_errors
    )


def _handle_storage_unavailable(error: Exception) -> Response:
    # Never a 2xx for a comment we didn't store: the client keeps it and retries.
    log.error("database unavailable on %s %s: %s", request.method, request.path, error)
    return problem(
        503,
        "the database is unavailable; nothing was stored, retry later",
        headers={"Retry-After": str(STORAGE_RETRY_AFTER)},
    )


def _handle_http_exception(error: HTTPException):
    from moderator.perspective.errors import from_http_exception
    from moderator.perspective.errors import is_google_path

    if is_google_path(request.path):
        # Perspective's clients parse Google's error shape, also for a path we don't have.
        return from_http_exception(error)
    if error.response is not None:
        return error.response  # already rendered, e.g. by rate_limited
    if error.code is None or _wants_html():
        # The dashboard's pages render their own HTML errors; don't turn them into JSON.
        return error
    headers = {}
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    elif error.code in (429, 503):
        headers["Retry-After"] = "1" if error.code == 429 else str(STORAGE_RETRY_AFTER)
    if error.code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    detail = error.description if error.code not in (404, 405) else None
    if error.code == 413:
        detail = "request body is too large"
    return problem(error.code, detail, headers=headers)


def _handle_unexpected(error: Exception) -> Response:
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError):
        # The driver's message can quote the failing row (PostgreSQL's DETAIL), i.e. comment
        # text: log the stack and the first line only.
        stack = "".join(traceback.format_tb(error.__traceback__))
        first = str(error.orig).splitlines()[0] if error.orig is not None else ""
        log.error(
            "unhandled database error on %s %s: %s: %s\n%s",
            request.method,
            request.path,
            type(error).__name__,
            first,
            stack,
        )
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "internal error")


def _wants_html() -> bool:
    if request.path.startswith(("/api/", "/v1alpha1/", "/healthz", "/readyz", "/metrics")):
        return False
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]
