"""A Perspective-compatible door: `POST /v1alpha1/comments:analyze`.

Clients written for Google's Perspective API (commentanalyzer.googleapis.com) only change
the host. Requests and responses follow Perspective's AnalyzeComment shape; errors follow
Google's JSON error shape `{"error": {"code", "message", "status", "details"}}`. The scores
come from the same decision path as `/api/v1/moderate`:

    TOXICITY -> toxicity, PROFANITY -> obscene, INSULT -> insult,
    THREAT -> threat, IDENTITY_ATTACK -> identity_attack,
    SEVERE_TOXICITY -> toxicity * max(obscene, threat, identity_attack)   (see severe_toxicity)

A summary score is the classifier's probability, raised to 1.0 when one of the site's
block or suspect words of that category matched, so Perspective clients that act on a
score enforce the site's word lists too. Only English is supported; the language is
assumed, not detected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException

from moderator import auth
from moderator import metrics
from moderator import schemas
from moderator import service
from moderator.errors import ApiError
from moderator.policy import Category
from moderator.policy import Decision
from moderator.policy import Source
from moderator.schemas import CommentIn
from moderator.storage import StorageUnavailable

bp = Blueprint("perspective", __name__)

#: Perspective attribute -> our category (SEVERE_TOXICITY is derived, see severe_toxicity).
ATTRIBUTES: dict[str, Category] = {
    "TOXICITY": Category.TOXICITY,
    "PROFANITY": Category.OBSCENE,
    "INSULT": Category.INSULT,
    "THREAT": Category.THREAT,
    "IDENTITY_ATTACK": Category.IDENTITY_ATTACK,
}
SEVERE_TOXICITY = "SEVERE_TOXICITY"
SUPPORTED_ATTRIBUTES = (*ATTRIBUTES, SEVERE_TOXICITY)
SUPPORTED_LANGUAGES = ("en",)
#: The categories whose strength makes toxicity severe.
SEVERE_FACTORS = (Category.OBSCENE, Category.THREAT, Category.IDENTITY_ATTACK)

_TOP_LEVEL = {
    "comment",
    "context",
    "requestedAttributes",
    "languages",
    "doNotStore",
    "clientToken",
    "sessionId",
    "communityId",
    "spanAnnotations",
}
_TEXT_TYPES = {"TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT"}
_SCORE_TYPES = {"SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW"}

#: google.rpc.Code names for the HTTP statuses this endpoint answers with.
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}


class GoogleError(Exception):
    """An error answered in Google's JSON error shape."""

    def __init__(
        self, code: int, message: str, details: list[dict] | None = None, status: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, "UNKNOWN")
        self.details = details

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
            return [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"description": self.message}],
                }
            ]
        return []

    def response(self) -> Response:
        """The error as a JSON response with its HTTP status."""
        return Response(
            json.dumps(self.to_dict()), status=self.code, content_type="application/json"
        )


def invalid(message: str, field: str | None = None) -> GoogleError:
    """A 400 INVALID_ARGUMENT naming the offending field, as Google's BadRequest detail does."""
    violation = {"description": message}
    if field:
        violation = {"field": field, **violation}
    return GoogleError(
        400,
        message,
        [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}],
    )


@dataclass(frozen=True)
class RequestedAttribute:
    """One requestedAttributes entry: the key as sent, its attribute and optional threshold."""

    key: str
    name: str
    threshold: float | None = None


@dataclass(frozen=True)
class AnalyzeRequest:
    """A checked AnalyzeComment request; `comment` is what service.moderate stores."""

    comment: CommentIn
    attributes: tuple[RequestedAttribute, ...]
    languages: tuple[str, ...] = ()
    do_not_store: bool = False
    client_token: str | None = None
    span_annotations: bool = False

    @property
    def text(self) -> str:
        """The comment text."""
        return self.comment.text


def parse_request(raw: bytes, max_text_bytes: int) -> AnalyzeRequest:
    """Check an AnalyzeComment body; raises GoogleError with Perspective's messages.

    The body is read as JSON whatever its Content-Type: Perspective's own Python sample
    posts `data=json.dumps(...)` without one.
    """
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict):
        raise invalid(
            'Invalid JSON payload received. Unknown name "": Root element must be a message.'
        )
    _no_unknown_names(body, _TOP_LEVEL, "")

    comment = body.get("comment")
    if comment is None:
        raise invalid("Comment must be non-empty.", "comment.text")
    if not isinstance(comment, dict):
        raise _bad_value("comment", "TYPE_MESSAGE", comment)
    _no_unknown_names(comment, {"text", "type"}, "comment")
    text_type = comment.get("type", "PLAIN_TEXT")
    if not isinstance(text_type, str) or text_type not in (*_TEXT_TYPES, "HTML"):
        raise _bad_value("comment.type", "TYPE_ENUM", text_type)
    if text_type == "HTML":
        raise invalid("Text type HTML is not supported; send PLAIN_TEXT.", "comment.type")
    text = comment.get("text")
    if text is not None and not isinstance(text, str):
        raise _bad_value("comment.text", "TYPE_STRING", text)
    if not text or not text.strip():
        raise invalid("Comment must be non-empty.", "comment.text")

    for name in ("doNotStore", "spanAnnotations"):
        if name in body and not isinstance(body[name], bool):
            raise _bad_value(name, "TYPE_BOOL", body[name])
    for name in ("clientToken", "sessionId", "communityId"):
        if name in body and not isinstance(body[name], str):
            raise _bad_value(name, "TYPE_STRING", body[name])

    languages = body.get("languages", [])
    if not isinstance(languages, list):
        raise _bad_value("languages", "TYPE_STRING", languages)
    for language in languages:
        if not isinstance(language, str):
            raise _bad_value("languages", "TYPE_STRING", language)

    attributes = _parse_attributes(body.get("requestedAttributes"))
    _check_support(attributes, languages)
    return AnalyzeRequest(
        comment=_comment(text, not body.get("doNotStore", False), max_text_bytes),
        attributes=attributes,
        languages=tuple(languages),
        do_not_store=body.get("doNotStore", False),
        client_token=body.get("clientToken"),
        span_annotations=body.get("spanAnnotations", False),
    )


def _comment(text: str, store: bool, max_text_bytes: int) -> CommentIn:
    """The text checked by the same rules as /api/v1/moderate, errors in Perspective's words."""
    try:
        return schemas.comment_from({"text": text, "store": store}, max_text_bytes)
    except ApiError as error:
        if error.status == 413:
            size = len(text.encode("utf-8"))
            raise invalid(
                f"Comment text was too many bytes. Value ({size}) exceeded limit "
                f"({max_text_bytes}).",
                "comment.text",
            ) from None
        message = error.errors[0]["message"] if error.errors else error.detail
        raise invalid(f"Invalid value at 'comment.text': {message}", "comment.text") from None


def _parse_attributes(requested: Any) -> tuple[RequestedAttribute, ...]:
    if requested is None or requested == {}:
        raise invalid("Requested attributes must be non-empty.", "requestedAttributes")
    if not isinstance(requested, dict):
        raise _bad_value("requestedAttributes", "TYPE_MESSAGE", requested)
    parsed = []
    for key, params in requested.items():
        where = f"requestedAttributes.{key}"
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise _bad_value(where, "TYPE_MESSAGE", params)
        _no_unknown_names(params, {"scoreType", "scoreThreshold"}, where)
        # Perspective accepts NAME@VERSION; we have one version of each.
        name = key.split("@", 1)[0]
        score_type = params.get("scoreType", "PROBABILITY")
        if not isinstance(score_type, str) or score_type not in _SCORE_TYPES:
            raise _bad_value(f"{where}.scoreType", "TYPE_ENUM", score_type)
        if score_type not in ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED"):
            raise invalid(
                f"Attribute {_short(name)} does not support score type {score_type}.",
                _short(f"{where}.scoreType"),
            )
        threshold = params.get("scoreThreshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0.0 <= threshold <= 1.0
        ):
            raise _bad_value(f"{where}.scoreThreshold", "TYPE_FLOAT", threshold)
        parsed.append(RequestedAttribute(key=key, name=name, threshold=threshold))
    return tuple(parsed)


def _check_support(attributes: tuple[RequestedAttribute, ...], languages: list[str]) -> None:
    """Perspective's error for a language or attribute it can't score, e.g. FLIRTATION in en."""
    if languages and not any(_primary(lang) in SUPPORTED_LANGUAGES for lang in languages):
        raise invalid(
            f"Attribute {_short(attributes[0].name)} does not support request languages: "
            + _short(",".join(languages)),
            "languages",
        )
    shown = ",".join(languages) if languages else SUPPORTED_LANGUAGES[0]
    for attribute in attributes:
        if attribute.name not in SUPPORTED_ATTRIBUTES:
            raise invalid(
                f"Attribute {_short(attribute.name)} does not support request languages: "
                + _short(shown),
                _short(f"requestedAttributes.{attribute.key}"),
            )


def _primary(language: str) -> str:
    """`en` for `en`, `EN`, `en-US` and `en_GB` (ISO 639-1 and BCP-47 forms)."""
    return language.replace("_", "-").split("-", 1)[0].lower()


def _no_unknown_names(obj: Mapping, known: set[str], where: str) -> None:
    for name in obj:
        if name not in known:
            at = f" at '{_short(where)}'" if where else ""
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{_short(name)}"{at}: '
                "Cannot find field."
            )


def _bad_value(where: str, proto_type: str, value: Any) -> GoogleError:
    try:
        shown = _short(json.dumps(value, ensure_ascii=False), 60)
    except (ValueError, RecursionError):
        shown = type(value).__name__
    return invalid(f"Invalid value at '{_short(where)}' ({proto_type}), {shown}", _short(where))


def _short(text: str, limit: int = 100) -> str:
    """Client-supplied names cut short, so an error never echoes a huge body back."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def severe_toxicity(scores: Mapping[str, float]) -> float:
    """SEVERE_TOXICITY: toxicity times the strongest of obscene, threat and identity_attack.

    Severe means toxic *and* obscene, threatening or hateful, so the product is never above
    TOXICITY and never decreases when any of its inputs increases (all are in [0, 1]).
    Missing categories count as 0.
    """
    toxicity = _unit(scores.get(Category.TOXICITY, 0.0))
    strongest = max(_unit(scores.get(c, 0.0)) for c in SEVERE_FACTORS)
    return toxicity * strongest


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def attribute_scores(request: AnalyzeRequest, decision: Decision) -> dict[str, dict]:
    """The response's attributeScores for `decision`, in request order."""
    summaries = summary_scores(decision)
    out = {}
    for attribute in request.attributes:
        value = summaries[attribute.name]
        if attribute.threshold is not None and value < attribute.threshold:
            # Perspective leaves out scores below a requested scoreThreshold.
            continue
        entry: dict[str, Any] = {}
        if request.span_annotations:
            entry["spanScores"] = span_scores(request.text, attribute.name, decision, value)
        entry["summaryScore"] = _score(value)
        out[attribute.key] = entry
    return out


def summary_scores(decision: Decision) -> dict[str, float]:
    """Every supported attribute's summary score for `decision`."""
    scores = {str(c): _unit(decision.scores.get(c, 0.0)) for c in Category}
    for reason in decision.reasons:
        if reason.source is Source.WORDLIST and reason.category in scores:
            scores[reason.category] = 1.0
    summaries = {name: scores[category] for name, category in ATTRIBUTES.items()}
    summaries[SEVERE_TOXICITY] = severe_toxicity(scores)
    return summaries


def span_scores(text: str, attribute: str, decision: Decision, summary: float) -> list[dict]:
    """Per-word spans from the decision's reasons, as UTF-16 offsets like Perspective's.

    A category with no reason (it stayed under its hold threshold), and SEVERE_TOXICITY,
    get one span over the whole text carrying the summary score.
    """
    category = ATTRIBUTES.get(attribute)
    spans = []
    if category is not None:
        for reason in decision.reasons:
            if reason.category != category:
                continue
            score = 1.0 if reason.source is Source.WORDLIST else _unit(reason.score or 0.0)
            for start, end in reason.spans:
                spans.append((_utf16(text, start), _utf16(text, end), score))
    if not spans:
        spans.append((0, _utf16(text, len(text)), summary))
    return [{"begin": b, "end": e, "score": _score(s)} for b, e, s in sorted(set(spans))]


def _utf16(text: str, index: int) -> int:
    """The UTF-16 code-unit offset of code-point `index` (characters past U+FFFF count two)."""
    index = max(0, min(index, len(text)))
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def _score(value: float) -> dict:
    return {"value": round(float(value), 7), "type": "PROBABILITY"}


def render_response(request: AnalyzeRequest, decision: Decision) -> dict:
    """The AnalyzeComment response body."""
    body: dict[str, Any] = {
        "attributeScores": attribute_scores(request, decision),
        "languages": list(request.languages) or list(SUPPORTED_LANGUAGES),
        "detectedLanguages": list(SUPPORTED_LANGUAGES),
    }
    if request.client_token is not None:
        body["clientToken"] = request.client_token
    return body


@bp.before_request
def _authenticate() -> None:
    """Perspective clients send `?key=`; our Bearer header works too."""
    try:
        auth.require_site_key(current_app.extensions["moderator"].engine, allow_query_key=True)
    except ApiError:
        if auth.presented_key(allow_query_key=True) is None:
            raise GoogleError(403, "The request is missing a valid API key.") from None
        raise GoogleError(
            400,
            "API key not valid. Please pass a valid API key.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        ) from None


@bp.post("/v1alpha1/comments:analyze")
def analyze() -> Response:
    """Score a comment for the requested attributes; store it unless doNotStore is true."""
    services = current_app.extensions["moderator"]
    # get_data raises 413 past MAX_CONTENT_LENGTH, answered below in Google's shape.
    analyze_request = parse_request(request.get_data(cache=False), services.config.max_text_bytes)
    result = service.moderate(services.engine, services.moderation, g.site, analyze_request.comment)
    decision = result.fresh
    if decision is not None:
        metrics.observe_decisions([decision])
    if decision is None or not decision.scores:
        # Held for review (and stored, unless doNotStore), but there is nothing to score with.
        raise GoogleError(503, "The classifier is unavailable; try again later.")
    body = render_response(analyze_request, decision)
    return Response(json.dumps(body), content_type="application/json")


@bp.errorhandler(GoogleError)
def _google_error(error: GoogleError) -> Response:
    return error.response()


@bp.errorhandler(StorageUnavailable)
def _storage_unavailable(error: StorageUnavailable) -> Response:
    current_app.logger.error("database unavailable on %s: %s", request.path, error)
    response = GoogleError(503, "The database is unavailable; nothing was stored.").response()
    response.headers["Retry-After"] = "5"
    return response


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return GoogleError(500, "Internal error.").response()


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if code == 413:
        return GoogleError(413, "Request payload size exceeds the limit.").response()
    if code in (429, 503):
        message = {
            429: "Quota exceeded for this API key; retry later.",
            503: "The service is unavailable; retry later.",
        }[code]
        response = GoogleError(code, message).response()
        if getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    return GoogleError(code, error.description or error.name).response()
