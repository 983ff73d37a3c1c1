"""Checking the fields of Perspective's JSON messages (proto3 JSON rules, Perspective's messages).

Each check raises a GoogleError worded as Google's API does for the same mistake: an unknown
field name, a value of the wrong type, a score outside [0, 1], a language code that can't be one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from moderator.perspective.errors import GoogleError
from moderator.perspective.errors import invalid
from moderator.perspective.errors import short

TEXT_TYPES = {"TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT"}
SCORE_TYPES = {"SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW"}


def json_object(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict):
        raise invalid(
            'Invalid JSON payload received. Unknown name "": Root element must be a message.'
        )
    return body


def text_entry(entry: dict, where: str, required: bool = False) -> str | None:
    no_unknown_names(entry, {"text", "type"}, where)
    text_type = entry.get("type", "PLAIN_TEXT")
    if not isinstance(text_type, str) or text_type not in (*TEXT_TYPES, "HTML"):
        raise bad_value(f"{where}.type", "TYPE_ENUM", text_type)
    if text_type == "HTML":
        raise invalid("Text type HTML is not supported; send PLAIN_TEXT.", f"{where}.type")
    text = entry.get("text")
    if text is not None and not isinstance(text, str):
        raise bad_value(f"{where}.text", "TYPE_STRING", text)
    if required and (not text or not text.strip()):
        raise invalid("Comment must be non-empty.", f"{where}.text")
    return text


def check_strings(body: dict, names: tuple[str, ...]) -> None:
    for name in names:
        if name in body and not isinstance(body[name], str):
            raise bad_value(name, "TYPE_STRING", body[name])


_LANGUAGE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def languages_of(body: dict) -> list[str]:
    languages = body.get("languages", [])
    if not isinstance(languages, list):
        raise bad_value("languages", "TYPE_STRING", languages)
    for language in languages:
        if not isinstance(language, str):
            raise bad_value("languages", "TYPE_STRING", language)
        # Rules the OpenAPI document can state as a pattern: not blank, no control
        # characters, no lone surrogates (they can't be stored).
        if not language.strip() or len(language) > 35 or _LANGUAGE_REFUSED.search(language):
            raise invalid(f"Unknown language code: {short(language, 40)}", "languages")
    return languages


def score_value(score: Any, where: str) -> float:
    if not isinstance(score, dict):
        raise bad_value(where, "TYPE_MESSAGE", score)
    no_unknown_names(score, {"value", "type"}, where)
    score_type = score.get("type", "PROBABILITY")
    if not isinstance(score_type, str) or score_type not in SCORE_TYPES:
        raise bad_value(f"{where}.type", "TYPE_ENUM", score_type)
    if score_type not in ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED"):
        raise invalid(f"Score type {score_type} is not supported; send PROBABILITY.", where)
    value = score.get("value")
    if value is None:
        raise invalid("All Score objects must be explicitly set.", f"{where}.value")
    if not unit_interval(value):
        raise bad_value(f"{where}.value", "TYPE_FLOAT", value)
    return float(value)


def unit_interval(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0.0 <= value <= 1.0


def no_unknown_names(obj: Mapping, known: set[str], where: str) -> None:
    for name in obj:
        if name not in known:
            at = f" at '{short(where)}'" if where else ""
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{short(name)}"{at}: '
                "Cannot find field."
            )


def bad_value(where: str, proto_type: str, value: Any) -> GoogleError:
    try:
        shown = short(json.dumps(value, ensure_ascii=False), 60)
    except (ValueError, RecursionError):
        shown = type(value).__name__
    return invalid(f"Invalid value at '{short(where)}' ({proto_type}), {shown}", short(where))
