"""Comments: the bodies of POST /api/v1/moderate and /api/v1/moderate/batch."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request

from moderator.errors import ApiError
from moderator.schemas.checks import MAX_NAME_LENGTH
from moderator.schemas.checks import MAX_URL_LENGTH
from moderator.schemas.checks import blank
from moderator.schemas.checks import check_string
from moderator.schemas.checks import field_error
from moderator.schemas.checks import identifier
from moderator.schemas.checks import no_unknown
from moderator.schemas.checks import optional_string
from moderator.schemas.checks import read_json
from moderator.schemas.checks import utf8_length

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
        raise ApiError(
            400, "request body must be a JSON object", [field_error("", "not an object")]
        )
    no_unknown(body, ("comments",), "")
    if "comments" not in body:
        raise ApiError(400, "comments is required", [field_error("comments", "required")])
    items = body["comments"]
    if not isinstance(items, list):
        raise ApiError(400, "comments must be a list", [field_error("comments", "not a list")])
    if not items:
        raise ApiError(400, "comments must not be empty", [field_error("comments", "empty")])
    if len(items) > batch_max:
        raise ApiError(
            413,
            f"at most {batch_max} comments per batch, got {len(items)}",
            [field_error("comments", f"more than {batch_max} items")],
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
        total += utf8_length(comment.text) + utf8_length(comment.parent_text or "")
    if max_batch_bytes is not None and total > max_batch_bytes:
        raise ApiError(
            413,
            f"the batch holds {total} bytes of text, more than {max_batch_bytes}",
            [field_error("comments", f"more than {max_batch_bytes} bytes of text in all")],
        )
    return parsed


def comment_from(body: object, max_text_bytes: int) -> CommentIn:
    """Validate one comment object; all field errors are reported together."""
    if not isinstance(body, dict):
        raise ApiError(400, "comment must be a JSON object", [field_error("", "not an object")])
    no_unknown(body, COMMENT_FIELDS, "")
    errors: list[dict] = []
    too_large: list[dict] = []

    text = body.get("text")
    if "text" not in body or text is None:
        errors.append(field_error("text", "required"))
    elif not isinstance(text, str):
        errors.append(field_error("text", "must be a string"))
    elif blank(text):
        errors.append(field_error("text", "must not be blank"))
    else:
        check_string("text", text, errors)
        if not errors and utf8_length(text) > max_text_bytes:
            too_large.append(field_error("text", f"longer than {max_text_bytes} bytes"))

    external_id = identifier("id", body.get("id"), errors)

    author_id = author_name = None
    author = body.get("author")
    if isinstance(author, dict):
        no_unknown(author, AUTHOR_FIELDS, "author.")
        author_id = identifier("author.id", author.get("id"), errors)
        author_name = optional_string("author.name", author.get("name"), MAX_NAME_LENGTH, errors)
    elif author is not None:
        errors.append(field_error("author", "must be an object with id and name"))

    url = optional_string("url", body.get("url"), MAX_URL_LENGTH, errors)
    story_id = identifier("story_id", body.get("story_id"), errors)
    title = optional_string("title", body.get("title"), MAX_TITLE_LENGTH, errors)

    parent_text = body.get("parent_text")
    if parent_text is not None:
        if not isinstance(parent_text, str):
            errors.append(field_error("parent_text", "must be a string"))
            parent_text = None
        elif check_string("parent_text", parent_text, errors):
            if utf8_length(parent_text) > max_text_bytes:
                too_large.append(field_error("parent_text", f"longer than {max_text_bytes} bytes"))

    store = body.get("store", True)
    if not isinstance(store, bool):
        errors.append(field_error("store", "must be true or false"))

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
