"""Request parsing and validation: JSON bodies in, `CommentIn`s out, or an `ApiError`.

Every check on what a client sends lives here, so the views never see bad input. The rules:

- The body must be `application/json` (or `+json`) -> else 415; non-empty, valid UTF-8
  JSON, a JSON object -> else 400. Bodies over MAX_CONTENT_LENGTH are 413 before parsing.
- `text` is required, a string, not blank (whitespace and invisible format characters such
  as zero-width spaces don't count), at most `max_text_bytes` UTF-8 bytes -> else 413.
- Strings must be valid Unicode without NUL: lone surrogates (JSON `"\\ud800"`) and `\\u0000`
  are rejected with 400 rather than replaced, so a comment is stored exactly as sent or not
  at all. Everything else (HTML, script tags, RTL overrides, zero-width characters, emoji,
  combining marks, any script) is kept verbatim: the API returns JSON, never HTML.
- Unknown fields are rejected, so a typo (`"txt"`) is an error rather than a silent default.
"""

from __future__ import annotations

import heapq
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Request

from moderator.errors import MAX_FIELD_ERRORS
from moderator.errors import ApiError

MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 255
MAX_URL_LENGTH = 2048
#: The largest integer a JSON number carries exactly in every client (JavaScript's).
MAX_SAFE_INTEGER = 2**53 - 1
#: Client-supplied field names are cut to this many characters in error messages.
MAX_FIELD_NAME = 100

COMMENT_FIELDS = ("text", "id", "author", "url", "story_id", "title", "parent_text", "store")
MAX_TITLE_LENGTH = 500
AUTHOR_FIELDS = ("id", "name")


@dataclass(frozen=True)
class CommentIn:
    """One comment as a site sent it, validated."""

    text: str
    external_id: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    url: str | None = None
    parent_text: str | None = None
    store: bool = True
    #: The site's id of the story (article) the comment is on, and the story's title.
    story_id: str | None = None
    story_title: str | None = None
    #: Set by the other doors: perspective, coral, suggestscore (None: the JSON API).
    door: str | None = None
    #: Ids another system gave the comment, stored with it (Coral's story, tenant, ...).
    context: dict | None = None
    #: The language the client declared (a Perspective request's `languages`); None: detect.
    language: str | None = None


@dataclass(frozen=True)
class BatchItemError:
    """A batch item that failed validation: its index and its problem object.

    The problem is kept as a plain dict, never as the exception: an exception holds its
    traceback, whose frames hold the batch, which holds the exception again, and such a
    cycle keeps a whole request's objects alive until the next full garbage collection.
    """

    index: int
    problem: dict

    def to_dict(self) -> dict:
        """The item's problem object, with its index."""
        return {**self.problem, "index": self.index}


def read_json(request: Request) -> object:
    """The request body parsed as JSON, or a 400/413/415 ApiError."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "Content-Type must be application/json")
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        raise ApiError(400, "request body is empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise ApiError(400, f"request body is not valid JSON: {error.msg} at {error.pos}") from None
    except ValueError:  # e.g. an integer too long to convert
        raise ApiError(400, "request body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "request body is nested too deeply") from None


def parse_comment(request: Request, max_text_bytes: int) -> CommentIn:
    """The body of POST /api/v1/moderate."""
    return comment_from(read_json(request), max_text_bytes)


def parse_batch(
    request: Request, max_text_bytes: int, batch_max: int, max_batch_bytes: int | None = None
) -> list[CommentIn | BatchItemError]:
    """The body of POST /api/v1/moderate/batch: each item a CommentIn or its own error.

    The valid items' text and parent_text may hold at most `max_batch_bytes` UTF-8 bytes
    together (413 for the whole batch otherwise), which bounds the work of one request.
    """
    body = read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object", [_error("", "not an object")])
    _no_unknown(body, ("comments",), "")
    if "comments" not in body:
        raise ApiError(400, "comments is required", [_error("comments", "required")])
    items = body["comments"]
    if not isinstance(items, list):
        raise ApiError(400, "comments must be a list", [_error("comments", "not a list")])
    if not items:
        raise ApiError(400, "comments must not be empty", [_error("comments", "empty")])
    if len(items) > batch_max:
        raise ApiError(
            413,
            f"at most {batch_max} comments per batch, got {len(items)}",
            [_error("comments", f"more than {batch_max} items")],
        )
    parsed: list[CommentIn | BatchItemError] = []
    total = 0
    for index, item in enumerate(items):
        try:
            comment = comment_from(item, max_text_bytes)
        except ApiError as error:
            parsed.append(BatchItemError(index, error.to_dict()))
            continue
        parsed.append(comment)
        total += _utf8_length(comment.text) + _utf8_length(comment.parent_text or "")
    if max_batch_bytes is not None and total > max_batch_bytes:
        raise ApiError(
            413,
            f"the batch holds {total} bytes of text, more than {max_batch_bytes}",
            [_error("comments", f"more than {max_batch_bytes} bytes of text in all")],
        )
    return parsed


def comment_from(body: object, max_text_bytes: int) -> CommentIn:
    """Validate one comment object; all field errors are reported together."""
    if not isinstance(body, dict):
        raise ApiError(400, "comment must be a JSON object", [_error("", "not an object")])
    _no_unknown(body, COMMENT_FIELDS, "")
    errors: list[dict] = []
    too_large: list[dict] = []

    text = body.get("text")
    if "text" not in body or text is None:
        errors.append(_error("text", "required"))
    elif not isinstance(text, str):
        errors.append(_error("text", "must be a string"))
    elif _blank(text):
        errors.append(_error("text", "must not be blank"))
    else:
        _check_string("text", text, errors)
        if not errors and _utf8_length(text) > max_text_bytes:
            too_large.append(_error("text", f"longer than {max_text_bytes} bytes"))

    external_id = _identifier("id", body.get("id"), errors)

    author_id = author_name = None
    author = body.get("author")
    if isinstance(author, dict):
        _no_unknown(author, AUTHOR_FIELDS, "author.")
        author_id = _identifier("author.id", author.get("id"), errors)
        author_name = _optional_string("author.name", author.get("name"), MAX_NAME_LENGTH, errors)
    elif author is not None:
        errors.append(_error("author", "must be an object with id and name"))

    url = _optional_string("url", body.get("url"), MAX_URL_LENGTH, errors)
    story_id = _identifier("story_id", body.get("story_id"), errors)
    title = _optional_string("title", body.get("title"), MAX_TITLE_LENGTH, errors)

    parent_text = body.get("parent_text")
    if parent_text is not None:
        if not isinstance(parent_text, str):
            errors.append(_error("parent_text", "must be a string"))
            parent_text = None
        elif _check_string("parent_text", parent_text, errors):
            if _utf8_length(parent_text) > max_text_bytes:
                too_large.append(_error("parent_text", f"longer than {max_text_bytes} bytes"))

    store = body.get("store", True)
    if not isinstance(store, bool):
        errors.append(_error("store", "must be true or false"))

    if errors:
        first = errors[0]
        raise ApiError(400, f"{first['field']}: {first['message']}", errors)
    if too_large:
        first = too_large[0]
        raise ApiError(413, f"{first['field']} is {first['message']}", too_large)
    return CommentIn(
        text=text,
        external_id=external_id,
        author_id=author_id,
        author_name=author_name,
        url=url,
        parent_text=parent_text,
        store=store,
        story_id=story_id,
        story_title=title,
    )


def comment_ref(value: str) -> str | None:
    """A comment id from a URL path, or None when it can't name any stored comment."""
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _error(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _no_unknown(body: Mapping, known: tuple[str, ...], prefix: str) -> None:
    """400 for unknown fields: the first MAX_FIELD_ERRORS by name, the rest only counted."""
    unknown = sum(1 for k in body if k not in known)
    if not unknown:
        return
    first = heapq.nsmallest(MAX_FIELD_ERRORS, (str(k) for k in body if k not in known))
    raise ApiError(
        400,
        f"unknown field {_shown(prefix + first[0])}; expected one of {', '.join(known)}",
        [_error(_shown(prefix + name), "unknown field") for name in first],
        more_errors=unknown - len(first),
    )


def _shown(name: str) -> str:
    """A client's field name cut short, so an error never echoes a huge key back."""
    return name if len(name) <= MAX_FIELD_NAME else name[: MAX_FIELD_NAME - 3] + "..."


def _blank(text: str) -> bool:
    """True when nothing visible is left: only whitespace and format characters (Cf)."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


def _check_string(field: str, value: str, errors: list[dict]) -> bool:
    """Append an error for NUL or unpaired surrogates; True when the string is clean."""
    if "\x00" in value:
        errors.append(_error(field, "must not contain NUL (\\u0000)"))
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append(_error(field, "contains an unpaired surrogate (invalid Unicode)"))
        return False
    return True


def _utf8_length(value: str) -> int:
    return len(value.encode("utf-8"))


def _identifier(field: str, value: object, errors: list[dict]) -> str | None:
    """An id: a non-blank string or an integer (kept as its decimal string), or null."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        value = int(value)  # JSON has one number type: 32.0 is the integer 32
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_SAFE_INTEGER:
            # Beyond 2^53 a JSON number loses digits in most clients: send such ids as strings.
            errors.append(
                _error(field, "an integer id must be within ±(2^53-1); send it as a string")
            )
            return None
        value = str(value)
    if not isinstance(value, str):
        errors.append(_error(field, "must be a string or an integer"))
        return None
    if not value.strip():
        errors.append(_error(field, "must not be blank"))
        return None
    if not _check_string(field, value, errors):
        return None
    if len(value) > MAX_ID_LENGTH:
        errors.append(_error(field, f"longer than {MAX_ID_LENGTH} characters"))
        return None
    return value


def _optional_string(field: str, value: object, limit: int, errors: list[dict]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(_error(field, "must be a string"))
        return None
    if not _check_string(field, value, errors):
        return None
    if len(value) > limit:
        errors.append(_error(field, f"longer than {limit} characters"))
        return None
    return value


# -- the moderation desk: reports, appeals, stories ------------------------------------------

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
        raise ApiError(400, "request body must be a JSON object", [_error("", "not an object")])
    _no_unknown(body, known, "")
    return body


def _raise(errors: list[dict]) -> None:
    if errors:
        first = errors[0]
        raise ApiError(400, f"{first['field']}: {first['message']}", errors)


def _text(field: str, value: object, limit: int, errors: list[dict], required: bool) -> str | None:
    """A free-text field: a string, not blank when required, without NUL, at most `limit`."""
    if value is None:
        if required:
            errors.append(_error(field, "required"))
        return None
    if not isinstance(value, str):
        errors.append(_error(field, "must be a string"))
        return None
    if _blank(value):
        if required:
            errors.append(_error(field, "must not be blank"))
        return None
    if not _check_string(field, value, errors):
        return None
    if len(value) > limit:
        errors.append(_error(field, f"longer than {limit} characters"))
        return None
    return value


def parse_report(request: Request) -> ReportIn:
    """The body of POST /api/v1/comments/<id>/reports."""
    body = _object(request, REPORT_FIELDS)
    errors: list[dict] = []
    reporter = None
    if body.get("reporter_id") is None:
        errors.append(_error("reporter_id", "required"))
    else:
        reporter = _identifier("reporter_id", body["reporter_id"], errors)
    reason = body.get("reason")
    if reason is None:
        errors.append(_error("reason", "required"))
    elif not isinstance(reason, str) or reason not in REPORT_REASONS:
        errors.append(_error("reason", f"must be one of {', '.join(REPORT_REASONS)}"))
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
    title = _optional_string("title", body.get("title"), MAX_TITLE_LENGTH, errors)
    url = _optional_string("url", body.get("url"), MAX_URL_LENGTH, errors)
    premoderated = body.get("premoderated")
    if premoderated is not None and not isinstance(premoderated, bool):
        errors.append(_error("premoderated", "must be true or false"))
        premoderated = None
    reason = _text("reason", body.get("reason"), MAX_REASON_LENGTH, errors, required=False)
    if premoderated is True and reason is None and not errors:
        errors.append(_error("reason", "required to pre-moderate a story"))
    _raise(errors)
    return StoryPatch(title=title, url=url, premoderated=premoderated, reason=reason)


def ref(value: str) -> str | None:
    """An author or story reference from a URL path, or None when it can't name one."""
    if not value or len(value) > MAX_URL_LENGTH or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value
