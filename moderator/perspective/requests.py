"""Checking Perspective's request messages: AnalyzeComment and SuggestCommentScore.

Bodies are read as JSON whatever their Content-Type: Perspective's own Python sample posts
`data=json.dumps(...)` without one. Errors are GoogleErrors with Perspective's messages.
The comment goes through the same checks as `/api/v1/moderate` (schemas.comment_from):
`clientToken` becomes its `id` (external_id) and the first context entry, or
`articleAndParentComment.parentComment`, its `parent_text`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from moderator import schemas
from moderator.errors import ApiError
from moderator.perspective.context import read_context
from moderator.perspective.errors import invalid
from moderator.perspective.errors import language_not_supported
from moderator.perspective.errors import short
from moderator.perspective.fields import SCORE_TYPES
from moderator.perspective.fields import bad_value
from moderator.perspective.fields import check_strings
from moderator.perspective.fields import json_object
from moderator.perspective.fields import languages_of
from moderator.perspective.fields import no_unknown_names
from moderator.perspective.fields import score_value
from moderator.perspective.fields import text_entry
from moderator.perspective.fields import unit_interval
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
    body = json_object(raw)
    no_unknown_names(body, _TOP_LEVEL, "")
    text = _text(body)
    for name in ("doNotStore", "spanAnnotations", "dropUnsupportedAttributes"):
        if name in body and not isinstance(body[name], bool):
            raise bad_value(name, "TYPE_BOOL", body[name])
    check_strings(body, ("clientToken", "sessionId", "communityId"))
    languages = languages_of(body)
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
    parent_text, context = read_context(body.get("context"))
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
    body = json_object(raw)
    no_unknown_names(body, _SUGGEST_TOP_LEVEL, "")
    text = _text(body)
    check_strings(body, ("clientToken", "sessionId", "communityId"))
    languages = languages_of(body)
    scores = _suggested_scores(body.get("attributeScores"), languages)
    parent_text, context = read_context(body.get("context"))
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


def _text(body: dict) -> str:
    comment = body.get("comment")
    if comment is None:
        raise invalid("Comment must be non-empty.", "comment.text")
    if not isinstance(comment, dict):
        raise bad_value("comment", "TYPE_MESSAGE", comment)
    return text_entry(comment, "comment", required=True)


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
        raise bad_value("requestedAttributes", "TYPE_MESSAGE", requested)
    parsed = []
    for key, params in requested.items():
        where = f"requestedAttributes.{key}"
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise bad_value(where, "TYPE_MESSAGE", params)
        no_unknown_names(params, {"scoreType", "scoreThreshold"}, where)
        # Perspective accepts NAME@VERSION; we have one version of each.
        name = key.split("@", 1)[0]
        score_type = params.get("scoreType", "PROBABILITY")
        if not isinstance(score_type, str) or score_type not in SCORE_TYPES:
            raise bad_value(f"{where}.scoreType", "TYPE_ENUM", score_type)
        if score_type not in ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED"):
            raise invalid(
                f"Attribute {short(name)} does not support score type {score_type}.",
                short(f"{where}.scoreType"),
            )
        threshold = params.get("scoreThreshold")
        if threshold is not None and not unit_interval(threshold):
            raise bad_value(f"{where}.scoreThreshold", "TYPE_FLOAT", threshold)
        parsed.append(RequestedAttribute(key=key, name=name, threshold=threshold))
    return tuple(parsed)


def _suggested_scores(scores: Any, languages: list[str]) -> dict[str, float]:
    """Attribute name -> the person's score, from SuggestCommentScore's attributeScores."""
    if scores is None or scores == {}:
        raise invalid("Attribute scores must be non-empty.", "attributeScores")
    if not isinstance(scores, dict):
        raise bad_value("attributeScores", "TYPE_MESSAGE", scores)
    found: dict[str, float] = {}
    for key, entry in scores.items():
        where = f"attributeScores.{key}"
        name = key.split("@", 1)[0]
        if name not in SUPPORTED_ATTRIBUTES:
            raise language_not_supported(name, languages or SUPPORTED_LANGUAGES[:1])
        if not isinstance(entry, dict):
            raise bad_value(where, "TYPE_MESSAGE", entry)
        no_unknown_names(entry, {"summaryScore", "spanScores"}, where)
        values = []
        summary = entry.get("summaryScore")
        if summary is not None:
            values.append(score_value(summary, f"{where}.summaryScore"))
        spans = entry.get("spanScores", [])
        if not isinstance(spans, list):
            raise bad_value(f"{where}.spanScores", "TYPE_MESSAGE", spans)
        for i, span in enumerate(spans[:1000]):
            span_where = f"{where}.spanScores[{i}]"
            if not isinstance(span, dict):
                raise bad_value(span_where, "TYPE_MESSAGE", span)
            no_unknown_names(span, {"begin", "end", "score"}, span_where)
            for bound in ("begin", "end"):
                value = span.get(bound)
                if value is None or isinstance(value, bool) or not isinstance(value, int):
                    raise invalid("All SpanScore objects must have begin and end set.", span_where)
            if "score" not in span:
                raise invalid("All Score objects must be explicitly set.", span_where)
            values.append(score_value(span["score"], f"{span_where}.score"))
        if not values:
            raise invalid("The mapped AttributeScores objects must not be empty.", where)
        # The summary says what the person thought of the comment; spans only add detail.
        found[name] = values[0] if summary is not None else max(values)
    return found


__all__ = [
    "ATTRIBUTES",
    "AnalyzeRequest",
    "RequestedAttribute",
    "SuggestRequest",
    "parse_request",
    "parse_suggest",
]
