"""Checking Perspective's request messages: AnalyzeComment and SuggestCommentScore.

Bodies are read as JSON whatever their Content-Type: Perspective's own Python sample posts
`data=json.dumps(...)` without one. Errors are GoogleErrors with Perspective's messages.
The comment goes through the same checks as `/api/v1/moderate` (schemas.comment_from):
`clientToken` becomes its `id` (external_id) and the first context entry, or
`articleAndParentComment.parentComment`, its `parent_text`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from moderator import schemas
from moderator.errors import ApiError
from moderator.perspective.errors import GoogleError
from moderator.perspective.errors import invalid
from moderator.perspective.errors import language_not_supported
from moderator.perspective.errors import short
from moderator.perspective.scores import ATTRIBUTES
from moderator.perspective.scores import SUPPORTED_ATTRIBUTES
from moderator.perspective.scores import attributes_for
from moderator.schemas import CommentIn

SUPPORTED_LANGUAGES = ("en",)

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
    "dropUnsupportedAttributes",
}
_SUGGEST_TOP_LEVEL = {
    "comment",
    "context",
    "attributeScores",
    "languages",
    "communityId",
    "clientToken",
    "sessionId",
}
_TEXT_TYPES = {"TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT"}
_SCORE_TYPES = {"SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW"}
#: At most this many context entries are accepted (only the first is kept, as parent text).
MAX_CONTEXT_ENTRIES = 100


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
    drop_unsupported: bool = False

    @property
    def text(self) -> str:
        """The comment text."""
        return self.comment.text


@dataclass(frozen=True)
class SuggestRequest:
    """A checked SuggestCommentScore request: a person's scores for one comment."""

    comment: CommentIn
    #: Attribute name -> the suggested score in [0, 1] (summaryScore, else the top span score).
    scores: Mapping[str, float]
    languages: tuple[str, ...] = ()
    client_token: str | None = None
    community_id: str | None = None


def parse_request(
    raw: bytes,
    max_text_bytes: int,
    identify: Callable[[str], str] | None = None,
    supported: Mapping[str, Sequence[str]] | None = None,
) -> AnalyzeRequest:
    """Check an AnalyzeComment body; raises GoogleError with Perspective's messages.

    `supported` maps each language with a model to the categories its model scores
    (default: English, all of them). The comment is scored in the first requested language
    that has a model, or (no `languages`) in the language `identify(text)` finds when that
    one has a model. Requested languages none of which has a model, or an attribute the
    requested language's model doesn't score (unless dropUnsupportedAttributes), get
    Perspective's LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE, with the detected language; for a
    language that was only identified, the attributes its model lacks are left out.
    """
    supported = supported or {"en": tuple(str(c) for c in ATTRIBUTES.values())}
    body = _object(raw)
    _no_unknown_names(body, _TOP_LEVEL, "")
    text = _text(body)
    for name in ("doNotStore", "spanAnnotations", "dropUnsupportedAttributes"):
        if name in body and not isinstance(body[name], bool):
            raise _bad_value(name, "TYPE_BOOL", body[name])
    _strings(body, ("clientToken", "sessionId", "communityId"))
    languages = _languages(body)
    drop = body.get("dropUnsupportedAttributes", False)
    attributes = _parse_attributes(body.get("requestedAttributes"))
    chosen = next((primary(lang) for lang in languages if primary(lang) in supported), None)
    if languages and chosen is None:
        named = next((a.name for a in attributes if a.name in SUPPORTED_ATTRIBUTES), None)
        raise language_not_supported(
            named or attributes[0].name, languages, [identify(text)] if identify else ()
        )
    declared = chosen
    if chosen is None and identify is not None and len(supported) > 1:
        detected = identify(text)
        chosen = detected if detected in supported else None
    scored = attributes_for(supported[chosen or "en"])
    unsupported = [a for a in attributes if a.name not in scored]
    if unsupported:
        # Perspective's error only for a language the client asked for (or attributes no
        # model scores); an identified language's missing attributes are left out, and
        # detectedLanguages says why.
        if not drop and (declared or any(a.name not in SUPPORTED_ATTRIBUTES for a in unsupported)):
            raise language_not_supported(unsupported[0].name, languages or SUPPORTED_LANGUAGES[:1])
        attributes = tuple(a for a in attributes if a.name in scored)
    parent_text, context = _context(body.get("context"))
    store = not body.get("doNotStore", False)
    comment = _comment(text, body.get("clientToken"), parent_text, store, max_text_bytes)
    extra = {k: body[k] for k in ("communityId", "sessionId", "clientToken") if k in body}
    comment = dataclasses.replace(
        comment, door="perspective", context={**extra, **context} or None, language=declared
    )
    return AnalyzeRequest(
        comment=comment,
        attributes=attributes,
        languages=tuple(languages),
        do_not_store=body.get("doNotStore", False),
        client_token=body.get("clientToken"),
        span_annotations=body.get("spanAnnotations", False),
        drop_unsupported=drop,
    )


def parse_suggest(raw: bytes, max_text_bytes: int) -> SuggestRequest:
    """Check a SuggestCommentScore body (Coral sends one per moderator decision)."""
    body = _object(raw)
    _no_unknown_names(body, _SUGGEST_TOP_LEVEL, "")
    text = _text(body)
    _strings(body, ("clientToken", "sessionId", "communityId"))
    languages = _languages(body)
    scores = _suggested_scores(body.get("attributeScores"), languages)
    parent_text, context = _context(body.get("context"))
    comment = _comment(text, body.get("clientToken"), parent_text, True, max_text_bytes)
    extra = {k: body[k] for k in ("communityId", "sessionId", "clientToken") if k in body}
    url = context.pop("url", None)
    comment = dataclasses.replace(
        comment,
        url=url if isinstance(url, str) and len(url) <= schemas.MAX_URL_LENGTH else None,
        door="suggestscore",
        context={**extra, **context} or None,
    )
    return SuggestRequest(
        comment=comment,
        scores=scores,
        languages=tuple(languages),
        client_token=body.get("clientToken"),
        community_id=body.get("communityId"),
    )


def primary(language: str) -> str:
    """`en` for `en`, `EN`, `en-US` and `en_GB` (ISO 639-1 and BCP-47 forms)."""
    return language.replace("_", "-").split("-", 1)[0].lower()


def _object(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict):
        raise invalid(
            'Invalid JSON payload received. Unknown name "": Root element must be a message.'
        )
    return body


def _text(body: dict) -> str:
    comment = body.get("comment")
    if comment is None:
        raise invalid("Comment must be non-empty.", "comment.text")
    if not isinstance(comment, dict):
        raise _bad_value("comment", "TYPE_MESSAGE", comment)
    return _text_entry(comment, "comment", required=True)


def _text_entry(entry: dict, where: str, required: bool = False) -> str | None:
    _no_unknown_names(entry, {"text", "type"}, where)
    text_type = entry.get("type", "PLAIN_TEXT")
    if not isinstance(text_type, str) or text_type not in (*_TEXT_TYPES, "HTML"):
        raise _bad_value(f"{where}.type", "TYPE_ENUM", text_type)
    if text_type == "HTML":
        raise invalid("Text type HTML is not supported; send PLAIN_TEXT.", f"{where}.type")
    text = entry.get("text")
    if text is not None and not isinstance(text, str):
        raise _bad_value(f"{where}.text", "TYPE_STRING", text)
    if required and (not text or not text.strip()):
        raise invalid("Comment must be non-empty.", f"{where}.text")
    return text


def _strings(body: dict, names: tuple[str, ...]) -> None:
    for name in names:
        if name in body and not isinstance(body[name], str):
            raise _bad_value(name, "TYPE_STRING", body[name])


_LANGUAGE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _languages(body: dict) -> list[str]:
    languages = body.get("languages", [])
    if not isinstance(languages, list):
        raise _bad_value("languages", "TYPE_STRING", languages)
    for language in languages:
        if not isinstance(language, str):
            raise _bad_value("languages", "TYPE_STRING", language)
        # Rules the OpenAPI document can state as a pattern: not blank, no control
        # characters, no lone surrogates (they can't be stored).
        if not language.strip() or len(language) > 35 or _LANGUAGE_REFUSED.search(language):
            raise invalid(f"Unknown language code: {short(language, 40)}", "languages")
    return languages


def _context(context: Any) -> tuple[str | None, dict]:
    """(parent text, ids to keep) from Perspective's `context`.

    The parent is `entries[0].text` or `articleAndParentComment.parentComment.text`. Coral's
    suggestscore puts a JSON object in entries[0] (`Coral_comment_id`, `url`, ...): those
    are ids, not a parent, and are kept as such.
    """
    if context is None:
        return None, {}
    if not isinstance(context, dict):
        raise _bad_value("context", "TYPE_MESSAGE", context)
    _no_unknown_names(context, {"entries", "articleAndParentComment"}, "context")
    if "entries" in context and "articleAndParentComment" in context:
        raise invalid("Only one of context.entries and context.articleAndParentComment.")
    parent = None
    entries = context.get("entries")
    if entries is not None:
        if not isinstance(entries, list):
            raise _bad_value("context.entries", "TYPE_MESSAGE", entries)
        if len(entries) > MAX_CONTEXT_ENTRIES:
            raise invalid(
                f"At most {MAX_CONTEXT_ENTRIES} context entries are accepted.", "context.entries"
            )
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _bad_value(f"context.entries[{i}]", "TYPE_MESSAGE", entry)
            text = _text_entry(entry, f"context.entries[{i}]")
            if i == 0:
                parent = text
    pair = context.get("articleAndParentComment")
    if pair is not None:
        if not isinstance(pair, dict):
            raise _bad_value("context.articleAndParentComment", "TYPE_MESSAGE", pair)
        _no_unknown_names(pair, {"article", "parentComment"}, "context.articleAndParentComment")
        for name in ("article", "parentComment"):
            entry = pair.get(name)
            if entry is None:
                continue
            where = f"context.articleAndParentComment.{name}"
            if not isinstance(entry, dict):
                raise _bad_value(where, "TYPE_MESSAGE", entry)
            text = _text_entry(entry, where)
            if name == "parentComment":
                parent = text
    ids = _coral_ids(parent)
    if ids:
        return None, ids
    return (parent if parent and parent.strip() else None), {}


def _coral_ids(text: str | None) -> dict:
    """Coral's suggestscore context entry: `{"url", "reply_to_id_Coral_comment_id",
    "Coral_comment_id"}` (services/perspective/perspective.ts, formatBody)."""
    if not text or not text.lstrip().startswith("{"):
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(found, dict) or not isinstance(found.get("Coral_comment_id"), str):
        return {}
    ids = {"coral_comment_id": found["Coral_comment_id"][:255]}
    parent = found.get("reply_to_id_Coral_comment_id")
    if isinstance(parent, str):
        ids["coral_parent_id"] = parent[:255]
    if isinstance(found.get("url"), str):
        ids["url"] = found["url"]
    return ids


def _comment(
    text: str, client_token: Any, parent_text: str | None, store: bool, max_text_bytes: int
) -> CommentIn:
    """The comment checked by the same rules as /api/v1/moderate, errors in Perspective's words."""
    fields: dict = {"text": text, "store": store}
    if client_token is not None:
        fields["id"] = client_token
    if parent_text is not None:
        fields["parent_text"] = parent_text
    try:
        return schemas.comment_from(fields, max_text_bytes)
    except ApiError as error:
        problem = error.errors[0] if error.errors else {"field": "text", "message": error.detail}
        field = {
            "text": "comment.text",
            "id": "clientToken",
            "parent_text": "context.entries[0].text",
        }.get(problem["field"], problem["field"])
        if error.status == 413:
            size = len((text if problem["field"] == "text" else parent_text or "").encode())
            what = "Comment text" if problem["field"] == "text" else "Context text"
            raise invalid(
                f"{what} was too many bytes. Value ({size}) exceeded limit ({max_text_bytes}).",
                field,
            ) from None
        raise invalid(f"Invalid value at '{field}': {problem['message']}", field) from None


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
                f"Attribute {short(name)} does not support score type {score_type}.",
                short(f"{where}.scoreType"),
            )
        threshold = params.get("scoreThreshold")
        if threshold is not None and not _unit(threshold):
            raise _bad_value(f"{where}.scoreThreshold", "TYPE_FLOAT", threshold)
        parsed.append(RequestedAttribute(key=key, name=name, threshold=threshold))
    return tuple(parsed)


def _suggested_scores(scores: Any, languages: list[str]) -> dict[str, float]:
    """Attribute name -> the person's score, from SuggestCommentScore's attributeScores."""
    if scores is None or scores == {}:
        raise invalid("Attribute scores must be non-empty.", "attributeScores")
    if not isinstance(scores, dict):
        raise _bad_value("attributeScores", "TYPE_MESSAGE", scores)
    found: dict[str, float] = {}
    for key, entry in scores.items():
        where = f"attributeScores.{key}"
        name = key.split("@", 1)[0]
        if name not in SUPPORTED_ATTRIBUTES:
            raise language_not_supported(name, languages or SUPPORTED_LANGUAGES[:1])
        if not isinstance(entry, dict):
            raise _bad_value(where, "TYPE_MESSAGE", entry)
        _no_unknown_names(entry, {"summaryScore", "spanScores"}, where)
        values = []
        summary = entry.get("summaryScore")
        if summary is not None:
            values.append(_score(summary, f"{where}.summaryScore"))
        spans = entry.get("spanScores", [])
        if not isinstance(spans, list):
            raise _bad_value(f"{where}.spanScores", "TYPE_MESSAGE", spans)
        for i, span in enumerate(spans[:1000]):
            span_where = f"{where}.spanScores[{i}]"
            if not isinstance(span, dict):
                raise _bad_value(span_where, "TYPE_MESSAGE", span)
            _no_unknown_names(span, {"begin", "end", "score"}, span_where)
            for bound in ("begin", "end"):
                value = span.get(bound)
                if value is None or isinstance(value, bool) or not isinstance(value, int):
                    raise invalid("All SpanScore objects must have begin and end set.", span_where)
            if "score" not in span:
                raise invalid("All Score objects must be explicitly set.", span_where)
            values.append(_score(span["score"], f"{span_where}.score"))
        if not values:
            raise invalid("The mapped AttributeScores objects must not be empty.", where)
        # The summary says what the person thought of the comment; spans only add detail.
        found[name] = values[0] if summary is not None else max(values)
    return found


def _score(score: Any, where: str) -> float:
    if not isinstance(score, dict):
        raise _bad_value(where, "TYPE_MESSAGE", score)
    _no_unknown_names(score, {"value", "type"}, where)
    score_type = score.get("type", "PROBABILITY")
    if not isinstance(score_type, str) or score_type not in _SCORE_TYPES:
        raise _bad_value(f"{where}.type", "TYPE_ENUM", score_type)
    if score_type not in ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED"):
        raise invalid(f"Score type {score_type} is not supported; send PROBABILITY.", where)
    value = score.get("value")
    if value is None:
        raise invalid("All Score objects must be explicitly set.", f"{where}.value")
    if not _unit(value):
        raise _bad_value(f"{where}.value", "TYPE_FLOAT", value)
    return float(value)


def _unit(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0.0 <= value <= 1.0


def _no_unknown_names(obj: Mapping, known: set[str], where: str) -> None:
    for name in obj:
        if name not in known:
            at = f" at '{short(where)}'" if where else ""
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{short(name)}"{at}: '
                "Cannot find field."
            )


def _bad_value(where: str, proto_type: str, value: Any) -> GoogleError:
    try:
        shown = short(json.dumps(value, ensure_ascii=False), 60)
    except (ValueError, RecursionError):
        shown = type(value).__name__
    return invalid(f"Invalid value at '{short(where)}' ({proto_type}), {shown}", short(where))


__all__ = [
    "ATTRIBUTES",
    "AnalyzeRequest",
    "RequestedAttribute",
    "SuggestRequest",
    "parse_request",
    "parse_suggest",
]
