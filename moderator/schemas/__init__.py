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

from moderator.schemas.checks import MAX_FIELD_NAME
from moderator.schemas.checks import MAX_ID_LENGTH
from moderator.schemas.checks import MAX_NAME_LENGTH
from moderator.schemas.checks import MAX_SAFE_INTEGER
from moderator.schemas.checks import MAX_URL_LENGTH
from moderator.schemas.checks import blank
from moderator.schemas.checks import comment_ref
from moderator.schemas.checks import read_json
from moderator.schemas.checks import ref
from moderator.schemas.comments import AUTHOR_FIELDS
from moderator.schemas.comments import COMMENT_FIELDS
from moderator.schemas.comments import MAX_TITLE_LENGTH
from moderator.schemas.comments import BatchItemError
from moderator.schemas.comments import CommentIn
from moderator.schemas.comments import comment_from
from moderator.schemas.comments import parse_batch
from moderator.schemas.comments import parse_comment
from moderator.schemas.desk import APPEAL_FIELDS
from moderator.schemas.desk import MAX_APPEAL_TEXT
from moderator.schemas.desk import MAX_REASON_LENGTH
from moderator.schemas.desk import MAX_REPORT_TEXT
from moderator.schemas.desk import REPORT_FIELDS
from moderator.schemas.desk import REPORT_REASONS
from moderator.schemas.desk import STORY_FIELDS
from moderator.schemas.desk import ReportIn
from moderator.schemas.desk import StoryPatch
from moderator.schemas.desk import parse_appeal
from moderator.schemas.desk import parse_report
from moderator.schemas.desk import parse_story_patch

__all__ = [
    "APPEAL_FIELDS",
    "AUTHOR_FIELDS",
    "COMMENT_FIELDS",
    "MAX_APPEAL_TEXT",
    "MAX_FIELD_NAME",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_REASON_LENGTH",
    "MAX_REPORT_TEXT",
    "MAX_SAFE_INTEGER",
    "MAX_TITLE_LENGTH",
    "MAX_URL_LENGTH",
    "REPORT_FIELDS",
    "REPORT_REASONS",
    "STORY_FIELDS",
    "BatchItemError",
    "CommentIn",
    "ReportIn",
    "StoryPatch",
    "blank",
    "comment_from",
    "comment_ref",
    "parse_appeal",
    "parse_batch",
    "parse_comment",
    "parse_report",
    "parse_story_patch",
    "read_json",
    "ref",
]
