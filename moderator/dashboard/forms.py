"""Reading the dashboard's query strings and forms: every bad value is a 400 with a reason."""

from __future__ import annotations

import datetime as dt
import unicodedata

from flask import abort
from flask import request
from flask import url_for

from moderator import accounts
from moderator.dashboard import FILTER_CATEGORIES
from moderator.dashboard import MAX_NOTE
from moderator.dashboard import MAX_SEARCH
from moderator.storage import review


def bad(message: str):
    """Stop with a 400 page that says what was wrong."""
    abort(400, description=message)


def date_arg(args, name: str) -> dt.date | None:
    """Query argument `name` as a date (YYYY-MM-DD), None when empty; else 400."""
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        bad(f"{name} must be a date like 2026-01-31")


def int_arg(args, name: str, *, default=None, low=1, high=10_000_000):
    """Field `name` as a whole number in [low, high]; `default` when empty, else 400."""
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        bad(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def clean_text(value: str, name: str, limit: int) -> str:
    """Form text: NFC, trimmed, no control characters but tab and newline, at most `limit`."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if len(value) > limit:
        bad(f"{name} is too long ({len(value):,} characters; the limit is {limit:,})")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n" for ch in value):
        bad(f"{name} contains control characters")
    return value


def comment_filter(status: str | None, *, reported: bool = False) -> review.CommentFilter:
    """The list filters from the query string (site, story, author, category, dates,
    search, decided); `reported` for the Reported queue."""
    args = request.args
    category = args.get("category", "").strip() or None
    if category is not None and category not in FILTER_CATEGORIES:
        bad(f"category must be one of {', '.join(FILTER_CATEGORIES)}")
    decided = args.get("decided", "").strip() or None
    if decided not in (None, "human", "automatic"):
        bad("decided must be human or automatic")
    search = clean_text(args.get("q", ""), "search", MAX_SEARCH) or None
    since, until = date_arg(args, "since"), date_arg(args, "until")
    if since and until and since > until:
        bad("since is after until")
    site_id = int_arg(args, "site")
    author = clean_text(args.get("author", ""), "author", 255) or None
    if author is not None and site_id is None:
        bad("an author filter needs a site")
    return review.CommentFilter(
        status=status,
        reported=reported,
        story=int_arg(args, "story"),
        author_id=author,
        site_id=site_id,
        category=category,
        since=since,
        until=until,
        search=search,
        decided=decided,
    )


def plausible_id(comment_id: str) -> bool:
    """Could this be a stored comment id? (Never send control characters to the database.)"""
    return 0 < len(comment_id) <= 36 and comment_id.isprintable()


def next_url() -> str:
    """Where to go after a POST: the form's `next` if it is a dashboard path, else the queue."""
    return accounts.safe_next(request.form.get("next"), url_for("dashboard.queue"))


def decision_fields():
    """The decision form's (decision, note, reason_code), checked."""
    decision = request.form.get("decision", "")
    if decision not in review.STATUS_AFTER:
        bad("decision must be approve or reject")
    note = clean_text(request.form.get("note", ""), "note", MAX_NOTE) or None
    reason_code = request.form.get("reason_code", "").strip() or None
    if decision == "approve":
        # One form carries both buttons; a reason only means something for a rejection.
        reason_code = None
    elif reason_code not in review.REASON_CODES:
        bad(f"a rejection needs a reason: one of {', '.join(review.REASON_CODES)}")
    return decision, note, reason_code
