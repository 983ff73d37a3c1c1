"""The checks every request body shares: JSON in, field errors out (see moderator.schemas)."""

from __future__ import annotations

import heapq
import json
import unicodedata
from collections.abc import Mapping

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


def comment_ref(value: str) -> str | None:
    """A comment id from a URL path, or None when it can't name any stored comment."""
    return _path_ref(value, MAX_ID_LENGTH)


def field_error(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def no_unknown(body: Mapping, known: tuple[str, ...], prefix: str) -> None:
    """400 for unknown fields: the first MAX_FIELD_ERRORS by name, the rest only counted."""
    unknown = sum(1 for k in body if k not in known)
    if not unknown:
        return
    first = heapq.nsmallest(MAX_FIELD_ERRORS, (str(k) for k in body if k not in known))
    raise ApiError(
        400,
        f"unknown field {shown(prefix + first[0])}; expected one of {', '.join(known)}",
        [field_error(shown(prefix + name), "unknown field") for name in first],
        more_errors=unknown - len(first),
    )


def shown(name: str) -> str:
    """A client's field name cut short, so an error never echoes a huge key back."""
    return name if len(name) <= MAX_FIELD_NAME else name[: MAX_FIELD_NAME - 3] + "..."


def blank(text: str) -> bool:
    """True when nothing visible is left: only whitespace and format characters (Cf)."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


def check_string(field: str, value: str, errors: list[dict]) -> bool:
    """Append an error for NUL or unpaired surrogates; True when the string is clean."""
    if "\x00" in value:
        errors.append(field_error(field, "must not contain NUL (\\u0000)"))
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append(field_error(field, "contains an unpaired surrogate (invalid Unicode)"))
        return False
    return True


def utf8_length(value: str) -> int:
    return len(value.encode("utf-8"))


def identifier(field: str, value: object, errors: list[dict]) -> str | None:
    """An id: a non-blank string or an integer (kept as its decimal string), or null."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        value = int(value)  # JSON has one number type: 32.0 is the integer 32
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_SAFE_INTEGER:
            # Beyond 2^53 a JSON number loses digits in most clients: send such ids as strings.
            errors.append(
                field_error(field, "an integer id must be within ±(2^53-1); send it as a string")
            )
            return None
        value = str(value)
    if not isinstance(value, str):
        errors.append(field_error(field, "must be a string or an integer"))
        return None
    if not value.strip():
        errors.append(field_error(field, "must not be blank"))
        return None
    return bounded(field, value, MAX_ID_LENGTH, errors)


def optional_string(field: str, value: object, limit: int, errors: list[dict]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(field_error(field, "must be a string"))
        return None
    return bounded(field, value, limit, errors)


def bounded(field: str, value: str, limit: int, errors: list[dict]) -> str | None:
    """`value` when it is clean text (see check_string) of at most `limit` characters."""
    if not check_string(field, value, errors):
        return None
    if len(value) > limit:
        errors.append(field_error(field, f"longer than {limit} characters"))
        return None
    return value


def ref(value: str) -> str | None:
    """An author or story reference from a URL path, or None when it can't name one."""
    return _path_ref(value, MAX_URL_LENGTH)


def _path_ref(value: str, limit: int) -> str | None:
    """`value` when it could name a stored row: not empty, at most `limit`, no NUL, valid UTF-8."""
    if not value or len(value) > limit or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value
