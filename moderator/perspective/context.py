"""Perspective's `context`: the parent comment's text, or the ids Coral puts there."""

from __future__ import annotations

import json
from typing import Any

from moderator.perspective.errors import invalid
from moderator.perspective.fields import bad_value
from moderator.perspective.fields import no_unknown_names
from moderator.perspective.fields import text_entry

#: At most this many context entries are accepted (only the first is kept, as parent text).
MAX_CONTEXT_ENTRIES = 100


def read_context(context: Any) -> tuple[str | None, dict]:
    """(parent text, ids to keep) from Perspective's `context`.

    The parent is `entries[0].text` or `articleAndParentComment.parentComment.text`. Coral's
    suggestscore puts a JSON object in entries[0] (`Coral_comment_id`, `url`, ...): those
    are ids, not a parent, and are kept as such.
    """
    if context is None:
        return None, {}
    if not isinstance(context, dict):
        raise bad_value("context", "TYPE_MESSAGE", context)
    no_unknown_names(context, {"entries", "articleAndParentComment"}, "context")
    if "entries" in context and "articleAndParentComment" in context:
        raise invalid("Only one of context.entries and context.articleAndParentComment.")
    parent = None
    entries = context.get("entries")
    if entries is not None:
        if not isinstance(entries, list):
            raise bad_value("context.entries", "TYPE_MESSAGE", entries)
        if len(entries) > MAX_CONTEXT_ENTRIES:
            raise invalid(
                f"At most {MAX_CONTEXT_ENTRIES} context entries are accepted.", "context.entries"
            )
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise bad_value(f"context.entries[{i}]", "TYPE_MESSAGE", entry)
            text = text_entry(entry, f"context.entries[{i}]")
            if i == 0:
                parent = text
    pair = context.get("articleAndParentComment")
    if pair is not None:
        if not isinstance(pair, dict):
            raise bad_value("context.articleAndParentComment", "TYPE_MESSAGE", pair)
        no_unknown_names(pair, {"article", "parentComment"}, "context.articleAndParentComment")
        for name in ("article", "parentComment"):
            entry = pair.get(name)
            if entry is None:
                continue
            where = f"context.articleAndParentComment.{name}"
            if not isinstance(entry, dict):
                raise bad_value(where, "TYPE_MESSAGE", entry)
            text = text_entry(entry, where)
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
