"""Google's JSON error shape for everything under /v1alpha1 and the discovery document.

`{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT", "details": [...]}}`:
`status` is the google.rpc.Code name for the HTTP status, and `details` carries
google.rpc.BadRequest field violations, or Perspective's own
`google.commentanalyzer.v1alpha1.Error` with `errorType` for a language or attribute it
can't score.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from flask import Response
from werkzeug.exceptions import HTTPException

#: google.rpc.Code names for the HTTP statuses (https://cloud.google.com/apis/design/errors).
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class GoogleError(Exception):
    """An error answered in Google's JSON error shape."""

    def __init__(
        self, code: int, message: str, details: list[dict] | None = None, status: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, _status_for(code))
        self.details = details
        self.headers: dict[str, str] = {}

    def to_dict(self) -> dict:
        """`{"error": {"code", "message", "status", "details"}}`, Google's error body."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "details": self.details if self.details is not None else self._default_details(),
            }
        }

    def _default_details(self) -> list[dict]:
        if self.status == "INVALID_ARGUMENT":
            return [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"description": self.message}]}]
        return []

    def response(self) -> Response:
        """The error as a JSON response with its HTTP status (and headers, e.g. Retry-After)."""
        response = Response(
            json.dumps(self.to_dict()), status=self.code, content_type="application/json"
        )
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


def _status_for(code: int) -> str:
    if 400 <= code < 500:
        return "FAILED_PRECONDITION"
    return "UNKNOWN"


def invalid(message: str, field: str | None = None) -> GoogleError:
    """A 400 INVALID_ARGUMENT naming the offending field, as Google's BadRequest detail does."""
    violation = {"description": message}
    if field:
        violation = {"field": field, **violation}
    return GoogleError(400, message, [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]}])


def language_not_supported(
    attribute: str, requested: Sequence[str], detected: Sequence[str] = ()
) -> GoogleError:
    """Perspective's LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE, e.g. TOXICITY for `de`.

    The message is Perspective's, `Attribute TOXICITY does not support request languages:
    de`; the detail names the attribute, the languages asked for and those we detected.
    """
    shown = ",".join(requested) if requested else ",".join(detected)
    body: dict = {"attribute": short(attribute)}
    if requested:
        body["requestedLanguages"] = [short(lang, 20) for lang in requested][:10]
    if detected:
        body["detectedLanguages"] = list(detected)
    return GoogleError(
        400,
        f"Attribute {short(attribute)} does not support request languages: {short(shown)}",
        [
            {
                "@type": ERROR_TYPE,
                "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                "languageNotSupportedByAttributeError": body,
            }
        ],
    )


def short(text: str, limit: int = 100) -> str:
    """Client-supplied names cut short, so an error never echoes a huge body back."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def from_http_exception(error: HTTPException) -> Response:
    """Flask's own 404, 405, 413, 429 ... in Google's shape (headers such as Allow kept)."""
    code = error.code or 500
    messages = {
        404: "The requested URL was not found on this server.",
        405: "The method is not allowed for the requested URL.",
        413: "Request payload size exceeds the limit.",
        429: "Quota exceeded for this API key; retry later.",
        503: "The service is unavailable; retry later.",
    }
    google = GoogleError(code, messages.get(code) or error.description or error.name)
    if code == 405 and getattr(error, "valid_methods", None):
        google.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    if getattr(error, "retry_after", None):  # the rate limiter's 429 and 503 carry theirs
        google.headers["Retry-After"] = str(error.retry_after)
    elif error.response is not None and "Retry-After" in error.response.headers:
        google.headers["Retry-After"] = error.response.headers["Retry-After"]
    elif code in (429, 503):
        google.headers["Retry-After"] = "1" if code == 429 else "5"
    return google.response()


def is_google_path(path: str) -> bool:
    """True for the routes that answer in Google's shape."""
    return path.startswith("/v1alpha1/") or path == "/v1alpha1" or path.startswith("/$discovery")
