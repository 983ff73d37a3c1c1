"""The moderation desk's bodies: readers' reports, authors' appeals, story settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request

from moderator.errors import ApiError
from moderator.schemas.checks import MAX_URL_LENGTH
from moderator.schemas.checks import blank
from moderator.schemas.checks import bounded
from moderator.schemas.checks import field_error
from moderator.schemas.checks import identifier
from moderator.schemas.checks import no_unknown
from moderator.schemas.checks import optional_string
from moderator.schemas.checks import read_json
from moderator.schemas.comments import MAX_TITLE_LENGTH

REPORT_FIELDS = ("reporter_id", "reason", "text")
#: Why a reader may report a comment (storage.reports.REASONS, repeated to keep schemas pure).
REPORT_REASONS = ("abuse", "spam", "off_topic", "harassment", "misinformation", "other")
MAX_REPORT_TEXT = 2000
APPEAL_FIELDS = ("text",)
MAX_APPEAL_TEXT = 5000
STORY_FIELDS = ("title", "url", "premoderated", "reason")
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class ReportIn:
    """A reader's report of a comment, as the site forwards it."""

    reporter_id: str
    reason: str
    text: str | None = None


@dataclass(frozen=True)
class StoryPatch:
    """Changes to a story: None leaves a field as it is."""

    title: str | None = None
    url: str | None = None
    premoderated: bool | None = None
    reason: str | None = None


def _object(request: Request, known: tuple[str, ...]) -> dict:
    body = read_json(request)
    if not isinstance(body, dict):
        raise ApiError(
            400, "request body must be a JSON object", [field_error("", "not an object")]
        )
    no_unknown(body, known, "")
    return body


def _raise(errors: list[dict]) -> None:
    if errors:
        first = errors[0]
        raise ApiError(400, f"{first['field']}: {first['message']}", errors)


def _text(field: str, value: object, limit: int, errors: list[dict], required: bool) -> str | None:
    """A free-text field: a string, not blank when required, without NUL, at most `limit`."""
    if value is None:
        if required:
            errors.append(field_error(field, "required"))
        return None
    if not isinstance(value, str):
        errors.append(field_error(field, "must be a string"))
        return None
    if blank(value):
        if required:
            errors.append(field_error(field, "must not be blank"))
        return None
    return bounded(field, value, limit, errors)


def parse_report(request: Request) -> ReportIn:
    """The body of POST /api/v1/comments/<id>/reports."""
    body = _object(request, REPORT_FIELDS)
    errors: list[dict] = []
    reporter = None
    if body.get("reporter_id") is None:
        errors.append(field_error("reporter_id", "required"))
    else:
        reporter = identifier("reporter_id", body["reporter_id"], errors)
    reason = body.get("reason")
    if reason is None:
        errors.append(field_error("reason", "required"))
    elif not isinstance(reason, str) or reason not in REPORT_REASONS:
        errors.append(field_error("reason", f"must be one of {', '.join(REPORT_REASONS)}"))
    text = _text("text", body.get("text"), MAX_REPORT_TEXT, errors, required=False)
    _raise(errors)
    return ReportIn(reporter_id=reporter, reason=reason, text=text)


def parse_appeal(request: Request) -> str:
    """The body of POST /api/v1/comments/<id>/appeal: the author's text."""
    body = _object(request, APPEAL_FIELDS)
    errors: list[dict] = []
    text = _text("text", body.get("text"), MAX_APPEAL_TEXT, errors, required=True)
    _raise(errors)
    return text


def parse_story_patch(request: Request) -> StoryPatch:
    """The body of PATCH /api/v1/stories/<story>."""
    body = _object(request, STORY_FIELDS)
    errors: list[dict] = []
    title = optional_string("title", body.get("title"), MAX_TITLE_LENGTH, errors)
    url = optional_string("url", body.get("url"), MAX_URL_LENGTH, errors)
    premoderated = body.get("premoderated")
    if premoderated is not None and not isinstance(premoderated, bool):
        errors.append(field_error("premoderated", "must be true or false"))
        premoderated = None
    reason = _text("reason", body.get("reason"), MAX_REASON_LENGTH, errors, required=False)
    if premoderated is True and reason is None and not errors:
        errors.append(field_error("reason", "required to pre-moderate a story"))
    _raise(errors)
    return StoryPatch(title=title, url=url, premoderated=premoderated, reason=reason)
