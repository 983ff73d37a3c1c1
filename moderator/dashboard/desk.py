"""The desk pages: authors (and acting on them), stories, the Appeals queue, words from a card."""

from __future__ import annotations

import datetime as dt

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from moderator import accounts
from moderator import storage
from moderator.dashboard import MAX_NOTE
from moderator.dashboard import MAX_SEARCH
from moderator.dashboard import MAX_WORD
from moderator.dashboard import MAX_WORDS
from moderator.dashboard import PAGE_SIZE
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.cards import card_context
from moderator.dashboard.forms import bad
from moderator.dashboard.forms import clean_text
from moderator.dashboard.forms import date_arg
from moderator.dashboard.forms import int_arg
from moderator.dashboard.forms import next_url
from moderator.dashboard.views import cards
from moderator.dashboard.views import pagination
from moderator.desk import statements
from moderator.rules import WordList
from moderator.storage import appeals as appeals_store
from moderator.storage import authors as authors_store
from moderator.storage import review
from moderator.storage import sites as site_store
from moderator.storage import stories as stories_store

AUTHOR_FILTERS = ("banned", "suspended", "premoderated", "warned")
#: What each author action is called on the page, and what it says when done.
AUTHOR_ACTIONS = {
    "ban": ("Ban", "Banned"),
    "unban": ("Lift the ban", "Lifted the ban on"),
    "suspend": ("Suspend until", "Suspended"),
    "unsuspend": ("End the suspension", "Ended the suspension of"),
    "premoderate": ("Always pre-moderate", "Pre-moderating"),
    "unpremoderate": ("Stop pre-moderating", "Stopped pre-moderating"),
    "warn": ("Warn", "Warned"),
    "unwarn": ("Clear the warning", "Cleared the warning of"),
}
APPEAL_PROBLEMS = {
    "resolved": "This appeal was resolved already.",
    "same_moderator": "You made the decision under appeal: another moderator must resolve it.",
    "decision_changed": "The comment's decision changed since the appeal; it was not resolved.",
}


# -- authors ------------------------------------------------------------------------------------


@bp.get("/authors")
def authors():
    """Authors, most recently seen first: search by name or id, filter by standing."""
    args = request.args
    status = args.get("status", "").strip() or None
    if status is not None and status not in AUTHOR_FILTERS:
        bad(f"status must be one of {', '.join(AUTHOR_FILTERS)}")
    search = clean_text(args.get("q", ""), "search", MAX_SEARCH) or None
    site_id = int_arg(args, "site")
    page = int_arg(args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        found, total = authors_store.list_authors(
            conn,
            site_id=site_id,
            status=status,
            search=search,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        histories = authors_store.histories(conn, [(a.site_id, a.external_id) for a in found])
        site_choices = review.site_names(conn)
    return render_template(
        "dashboard/authors.html",
        authors=found,
        histories=histories,
        **pagination(total, page),
        status=status,
        search=search,
        site_id=site_id,
        site_choices=site_choices,
        now=storage.now(),
        args={k: v for k, v in args.items() if k != "page" and v},
    )


@bp.get("/authors/<int:author_id>")
def author(author_id: int):
    """One author: standing and actions, history counts, their comments, the audit trail."""
    page = int_arg(request.args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        found = authors_store.get_author_by_id(conn, author_id)
        if found is None:
            abort(404)
        key = (found.site_id, found.external_id)
        history = authors_store.histories(conn, [key]).get(key)
        items, total = review.list_comments(
            conn,
            review.CommentFilter(site_id=found.site_id, author_id=found.external_id),
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            order="newest",
        )
        context = card_context(conn, items)
        trail, _ = review.audit_entries(conn, review.AuditFilter(subject=f"author:{author_id}"))
    return render_template(
        "dashboard/author.html",
        author=found,
        history=history,
        items=items,
        **pagination(total, page),
        ctx=context,
        trail=trail,
        now=storage.now(),
        **cards(),
    )


@bp.post("/authors/<int:author_id>/actions")
def author_action(author_id: int):
    """Ban, suspend, pre-moderate or warn an author (or undo it), with a reason; audited."""
    action = request.form.get("action", "")
    if action not in AUTHOR_ACTIONS:
        bad(f"action must be one of {', '.join(AUTHOR_ACTIONS)}")
    reason = clean_text(request.form.get("reason", ""), "reason", MAX_NOTE)
    if not reason:
        bad("give a reason")
    until = None
    if action == "suspend":
        day = date_arg(request.form, "until")
        if day is None:
            bad("a suspension needs an end date")
        until = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    try:
        with storage.transaction(engine()) as conn:
            changed = authors_store.act(
                conn, author_id, action, actor=current_user.username, reason=reason, until=until
            )
    except authors_store.AuthorError as problem:
        if str(problem) == "no such author":
            abort(404)
        flash(f"Not done: {problem}.", "error")
    else:
        name = changed.name or changed.external_id
        flash(f"{AUTHOR_ACTIONS[action][1]} {name}.", "success")
    default = url_for("dashboard.author", author_id=author_id)
    return redirect(accounts.safe_next(request.form.get("next"), default), code=303)


# -- stories ------------------------------------------------------------------------------------


@bp.get("/stories")
def stories():
    """Stories, most recently commented first, with their counts and pre-moderation."""
    args = request.args
    search = clean_text(args.get("q", ""), "search", MAX_SEARCH) or None
    site_id = int_arg(args, "site")
    premoderated = args.get("premoderated", "").strip() or None
    if premoderated not in (None, "yes", "no"):
        bad("premoderated must be yes or no")
    page = int_arg(args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        found, total = stories_store.list_stories(
            conn,
            site_id=site_id,
            search=search,
            premoderated=None if premoderated is None else premoderated == "yes",
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        counts = stories_store.counts(conn, [s.id for s in found])
        site_choices = review.site_names(conn)
    return render_template(
        "dashboard/stories.html",
        stories=found,
        counts=counts,
        **pagination(total, page),
        search=search,
        site_id=site_id,
        premoderated=premoderated,
        site_choices=site_choices,
        args={k: v for k, v in args.items() if k != "page" and v},
    )


@bp.get("/stories/<int:story_id>")
def story(story_id: int):
    """One story: its comments with their decisions, counts and pre-moderation."""
    page = int_arg(request.args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        found = stories_store.get_story(conn, story_id)
        if found is None:
            abort(404)
        items, total = review.list_comments(
            conn,
            review.CommentFilter(story=story_id),
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            order="newest",
        )
        counts = stories_store.counts(conn, [story_id]).get(story_id)
        context = card_context(conn, items)
        trail, _ = review.audit_entries(conn, review.AuditFilter(subject=f"story:{story_id}"))
    return render_template(
        "dashboard/story.html",
        story=found,
        counts=counts,
        items=items,
        **pagination(total, page),
        ctx=context,
        trail=trail,
        **cards(),
    )


@bp.post("/stories/<int:story_id>/premoderation")
def story_premoderation(story_id: int):
    """Put a story into pre-moderation (every new comment held) or take it out; audited."""
    change = request.form.get("premoderated", "")
    if change not in ("on", "off"):
        bad("premoderated must be on or off")
    reason = clean_text(request.form.get("reason", ""), "reason", MAX_NOTE) or None
    if change == "on" and not reason:
        bad("give a reason for pre-moderating the story")
    try:
        with storage.transaction(engine()) as conn:
            stories_store.set_premoderation(
                conn, story_id, change == "on", actor=current_user.username, reason=reason
            )
    except stories_store.StoryError:
        abort(404)
    flash(
        "Every new comment on this story is now held for review."
        if change == "on"
        else "The story is no longer pre-moderated.",
        "success",
    )
    return redirect(url_for("dashboard.story", story_id=story_id), code=303)


# -- appeals ------------------------------------------------------------------------------------


@bp.get("/appeals")
def appeals():
    """The Appeals queue: open appeals oldest first (or resolved ones), with statements."""
    status = request.args.get("status", "").strip() or "open"
    if status not in appeals_store.STATUSES:
        bad(f"status must be one of {', '.join(appeals_store.STATUSES)}")
    page = int_arg(request.args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        items, total = appeals_store.list_appeals(
            conn, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        context = card_context(conn, [i.comment for i in items])
        shown = []
        for item in items:
            history = context.appeals.get(item.comment.id, [])
            # The statement as the author saw it when appealing: the appeal is the window's use.
            window = statements.AppealWindow(False, None, "already_appealed")
            shown.append((item, statements.statement(item.comment, window, history)))
    return render_template(
        "dashboard/appeals.html",
        items=shown,
        **pagination(total, page),
        status=status,
        ctx=context,
        **cards(),
    )


@bp.post("/appeals/<int:appeal_id>")
def resolve_appeal(appeal_id: int):
    """Uphold or reverse an appeal with a note; never by the moderator who decided."""
    outcome = request.form.get("outcome", "")
    if outcome not in appeals_store.OUTCOMES:
        bad("outcome must be uphold or reverse")
    note = clean_text(request.form.get("note", ""), "note", MAX_NOTE)
    if not note:
        bad("write a note for the author: why the decision stands or is reversed")
    reason_code = request.form.get("reason_code", "").strip() or None
    if reason_code is not None and reason_code not in review.REASON_CODES:
        bad(f"reason must be one of {', '.join(review.REASON_CODES)}")
    try:
        with storage.transaction(engine()) as conn:
            resolution = appeals_store.resolve_appeal(
                conn,
                appeal_id,
                outcome,
                actor=current_user.username,
                note=note,
                reason_code=reason_code,
            )
    except appeals_store.DecisionRace:
        flash(APPEAL_PROBLEMS["decision_changed"], "error")
        return redirect(next_url_or(url_for("dashboard.appeals")), code=303)
    if resolution is None:
        abort(404)
    if not resolution.ok:
        flash(APPEAL_PROBLEMS[resolution.problem], "error")
        return redirect(next_url_or(url_for("dashboard.appeals")), code=303)
    verb = "Reversed" if outcome == "reverse" else "Upheld"
    flash(f"{verb} the decision on comment {resolution.comment.id[:8]}.", "success")
    return redirect(next_url_or(url_for("dashboard.appeals")), code=303)


def next_url_or(default: str) -> str:
    """The form's `next` if it is a dashboard path, else `default`."""
    return accounts.safe_next(request.form.get("next"), default)


# -- words from a card (admins) -----------------------------------------------------------------


@bp.post("/sites/<int:site_id>/word")
@accounts.admin_required
def site_word(site_id: int):
    """Admins: add one word from a comment card to the site's allow or block list."""
    kind = request.form.get("list", "")
    if kind not in ("allow", "block"):
        bad("list must be allow or block")
    word = clean_text(request.form.get("word", ""), "word", MAX_WORD)
    if not word or "\n" in word:
        bad("give one word or phrase")
    with storage.transaction(engine()) as conn:
        site = site_store.get_site(conn, site_id)
        if site is None:
            abort(404)
        words = [*site.words(kind), word]
        if len(set(words)) > MAX_WORDS:
            bad(f"a list holds at most {MAX_WORDS} words")
        try:
            WordList.compile(**{kind: words})
        except ValueError as problem:
            bad(str(problem))
        site_store.set_words(conn, site.name, kind, words, actor=current_user.username)
    where = "allow list" if kind == "allow" else "block list"
    flash(f"Added {word!r} to {site.name}'s {where}; it applies to new comments.", "success")
    return redirect(next_url(), code=303)
