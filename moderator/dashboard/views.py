"""The review pages: queue and lists, one comment, decisions, bulk, audit log, stats."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user

from moderator import storage
from moderator.dashboard import AUDIT_PAGE_SIZE
from moderator.dashboard import FILTER_CATEGORIES
from moderator.dashboard import MAX_BULK
from moderator.dashboard import PAGE_SIZE
from moderator.dashboard import VIEWS
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.display import bar_rows
from moderator.dashboard.display import stacked_bars
from moderator.dashboard.forms import bad
from moderator.dashboard.forms import clean_text
from moderator.dashboard.forms import comment_filter
from moderator.dashboard.forms import date_arg
from moderator.dashboard.forms import decision_fields
from moderator.dashboard.forms import int_arg
from moderator.dashboard.forms import next_url
from moderator.dashboard.forms import plausible_id
from moderator.storage import review


def _list_view(view: str):
    title, status, oldest_first = VIEWS[view]
    filters = comment_filter(status)
    page = int_arg(request.args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        items, total = review.list_comments(
            conn,
            filters,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            oldest_first=oldest_first,
        )
        site_choices = review.site_names(conn)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "dashboard/list.html",
        view=view,
        title=title,
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        args=args,
        site_choices=site_choices,
        here=request.full_path if request.query_string else request.path,
    )


@bp.get("/")
def queue():
    """Held comments awaiting a person, oldest first."""
    return _list_view("queue")


@bp.get("/approved")
def approved():
    """Comments currently allowed (by the model or a person), newest first."""
    return _list_view("approved")


@bp.get("/rejected")
def rejected():
    """Comments currently rejected, newest first."""
    return _list_view("rejected")


@bp.get("/all")
def all_comments():
    """Every comment, newest first."""
    return _list_view("all")


@bp.get("/comments/<comment_id>")
def comment(comment_id: str):
    """One comment with its reasons, scores, decision form and history."""
    if not plausible_id(comment_id):
        abort(404)
    with storage.reading(engine()) as conn:
        item = review.get_comment(conn, comment_id)
        if item is None:
            abort(404)
        history, _ = review.audit_entries(conn, review.AuditFilter(comment_id=comment_id))
    return render_template("dashboard/comment.html", item=item, history=history, problem=None)


@bp.post("/comments/<comment_id>/decision")
def decide(comment_id: str):
    """Approve or reject one comment; a comment already decided is left as it is (409)."""
    if not plausible_id(comment_id):
        abort(404)
    decision, note, reason_code = decision_fields()
    version = int_arg(request.form, "version")
    if version is None:
        bad("version is required")
    with storage.transaction(engine()) as conn:
        outcome = review.decide_comment(
            conn,
            comment_id,
            decision=decision,
            actor=current_user.username,
            note=note,
            reason_code=reason_code,
            expected_version=version,
        )
    if outcome is None:
        abort(404)
    if not outcome.ok:
        with storage.reading(engine()) as conn:
            history, _ = review.audit_entries(conn, review.AuditFilter(comment_id=comment_id))
        return render_template(
            "dashboard/comment.html", item=outcome.comment, history=history, problem=outcome.problem
        ), 409
    verb = "Approved" if decision == "approve" else "Rejected"
    flash(f"{verb} comment {comment_id[:8]}.", "success")
    return redirect(next_url(), code=303)


@bp.post("/bulk")
def bulk():
    """Approve or reject every selected comment; already-decided ones are counted, not changed."""
    decision, note, reason_code = decision_fields()
    selected = request.form.getlist("ids")
    if not selected:
        bad("select at least one comment")
    if len(selected) > MAX_BULK:
        bad(f"select at most {MAX_BULK} comments at a time")
    wanted: dict[str, int] = {}
    for value in selected:
        comment_id, _, version = value.rpartition(":")
        if not plausible_id(comment_id) or not version.isascii() or not version.isdigit():
            bad("a selected comment id is malformed")
        wanted[comment_id] = int(version)
    counts: Counter = Counter()
    for comment_id, version in wanted.items():
        # One transaction per comment: a conflict on one never undoes the others.
        with storage.transaction(engine()) as conn:
            outcome = review.decide_comment(
                conn,
                comment_id,
                decision=decision,
                actor=current_user.username,
                note=note,
                reason_code=reason_code,
                expected_version=version,
            )
        counts["missing" if outcome is None else outcome.problem or "ok"] += 1
    verb = "Approved" if decision == "approve" else "Rejected"
    message = f"{verb} {counts['ok']} comment{'s' if counts['ok'] != 1 else ''}."
    skipped = counts["already_decided"] + counts["changed"] + counts["missing"]
    if skipped:
        message += f" {skipped} skipped: already decided, changed or gone."
    flash(message, "success" if counts["ok"] else "error")
    return redirect(next_url(), code=303)


@bp.get("/audit")
def audit():
    """The audit log, newest first, filterable by actor, action, comment, site and date."""
    args = request.args
    since, until = date_arg(args, "since"), date_arg(args, "until")
    filters = review.AuditFilter(
        actor=clean_text(args.get("actor", ""), "actor", 200) or None,
        action=clean_text(args.get("action", ""), "action", 100) or None,
        comment_id=clean_text(args.get("comment", ""), "comment", 36) or None,
        site_id=int_arg(args, "site"),
        since=since,
        until=until,
    )
    page = int_arg(args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        entries, total = review.audit_entries(
            conn, filters, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE
        )
        actions = review.audit_actions(conn)
        site_choices = review.site_names(conn)
    return render_template(
        "dashboard/audit.html",
        entries=entries,
        total=total,
        page=page,
        pages=max(1, -(-total // AUDIT_PAGE_SIZE)),
        filters=filters,
        actions=actions,
        site_choices=site_choices,
        args={k: v for k, v in args.items() if k != "page" and v},
    )


@bp.get("/stats")
def stats():
    """Decisions per day, by category, automatic vs human, and how often people overturn."""
    days = int_arg(request.args, "days", default=30, high=366)
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    with storage.reading(engine()) as conn:
        numbers = review.decision_stats(conn, first)
    return render_template(
        "dashboard/stats.html",
        days=days,
        first=first,
        stats=numbers,
        automatic=stacked_bars(numbers.automatic_by_day, ("allow", "hold", "reject"), first, today),
        human=stacked_bars(numbers.human_by_day, ("approve", "reject"), first, today),
        by_category=bar_rows(numbers.automatic_by_category, FILTER_CATEGORIES),
        by_reason=bar_rows(numbers.human_by_reason, review.REASON_CODES),
    )
