"""The review pages: queue and lists, one comment, decisions, bulk, audit log, stats."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user

from moderator import storage
from moderator.dashboard import AUDIT_PAGE_SIZE
from moderator.dashboard import DENSITIES
from moderator.dashboard import DENSITY_COOKIE
from moderator.dashboard import FILTER_CATEGORIES
from moderator.dashboard import MAX_BULK
from moderator.dashboard import PAGE_SIZE
from moderator.dashboard import VIEWS
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.cards import card_context
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
from moderator.desk import statements
from moderator.storage import appeals as appeals_store
from moderator.storage import review
from moderator.storage import sites as site_store
from moderator.storage import stories as stories_store


def nav_counts(conn) -> dict[str, int]:
    """The counts in the navigation: held, reported, appeals open."""
    return {
        "queue": review.count_comments(conn, review.CommentFilter(status="hold")),
        "reported": review.count_comments(conn, review.CommentFilter(reported=True)),
        "appeals": appeals_store.count_open(conn),
    }


def list_filters(view: str) -> review.CommentFilter:
    """The filters of list `view` from the query string."""
    _, status, _ = VIEWS[view]
    return comment_filter(status, reported=view == "reported")


def list_order(view: str) -> str:
    """The `sort` argument, or the view's default order."""
    order = request.args.get("sort", "").strip() or VIEWS[view][2]
    if order not in review.ORDERS:
        bad(f"sort must be one of {', '.join(review.ORDERS)}")
    return order


def density() -> str:
    """The moderator's chosen density (a cookie), comfortable by default."""
    chosen = request.cookies.get(DENSITY_COOKIE, "")
    return chosen if chosen in DENSITIES else DENSITIES[0]


def pagination(total: int, page: int, size: int = PAGE_SIZE) -> dict:
    """The template arguments of a paged list: total, page and the number of pages."""
    return {"total": total, "page": page, "pages": max(1, -(-total // size))}


def cards() -> dict:
    """The template arguments of a page of comment cards: density, and the page to come back to."""
    return {
        "density": density(),
        "here": request.full_path if request.query_string else request.path,
    }


def _list_view(view: str):
    title, _, _ = VIEWS[view]
    filters = list_filters(view)
    order = list_order(view)
    page = int_arg(request.args, "page", default=1, high=100_000)
    with storage.reading(engine()) as conn:
        items, total = review.list_comments(
            conn, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, order=order
        )
        site_choices = review.site_names(conn)
        context = card_context(conn, items)
        story = stories_store.get_story(conn, filters.story) if filters.story else None
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "dashboard/list.html",
        view=view,
        title=title,
        items=items,
        **pagination(total, page),
        filters=filters,
        order=order,
        orders=review.ORDERS,
        args=args,
        site_choices=site_choices,
        ctx=context,
        story=story,
        **cards(),
    )


@bp.get("/")
def queue():
    """Held comments awaiting a person, oldest first."""
    return _list_view("queue")


@bp.get("/reported")
def reported():
    """Allowed comments readers reported up to their site's threshold, most reported first."""
    return _list_view("reported")


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


@bp.get("/counts")
def counts():
    """JSON for the page's self-refreshing counts: this list's total and the navigation's.

    A background request: it never counts as the moderator being active (accounts).
    """
    view = request.args.get("view", "queue")
    if view not in VIEWS:
        bad(f"view must be one of {', '.join(VIEWS)}")
    filters = list_filters(view)
    with storage.reading(engine()) as conn:
        total = review.count_comments(conn, filters)
        nav = nav_counts(conn)
    response = jsonify({"view": view, "total": total, "nav": nav})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/preferences")
def preferences():
    """Remember the moderator's density (compact or comfortable) in a cookie."""
    chosen = request.form.get("density", "")
    if chosen not in DENSITIES:
        bad(f"density must be one of {', '.join(DENSITIES)}")
    response = redirect(next_url(), code=303)
    response.set_cookie(
        DENSITY_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path="/dashboard",
    )
    return response


@bp.get("/comments/<comment_id>")
def comment(comment_id: str):
    """One comment with its reasons, scores, decision form and history."""
    if not plausible_id(comment_id):
        abort(404)
    return _comment_page(comment_id)


def _comment_page(comment_id: str, problem: str | None = None, status: int = 200):
    with storage.reading(engine()) as conn:
        item = review.get_comment(conn, comment_id)
        if item is None:
            abort(404)
        history, _ = review.audit_entries(conn, review.AuditFilter(comment_id=comment_id))
        context = card_context(conn, [item])
        site = site_store.get_site(conn, item.site_id)
        appeals = context.appeals.get(item.id, [])
        window = statements.appeal_window(item, site.appeal_days, appeals, context.now)
        statement = statements.statement(item, window, appeals)
    return render_template(
        "dashboard/comment.html",
        item=item,
        history=history,
        problem=problem,
        ctx=context,
        statement=statement,
        density=density(),
    ), status


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
    verb = "Approved" if decision == "approve" else "Rejected"
    if wants_json():
        return _decision_json(outcome, f"{verb} comment {comment_id[:8]}.")
    if not outcome.ok:
        return _comment_page(comment_id, problem=outcome.problem, status=409)
    flash(f"{verb} comment {comment_id[:8]}.", "success")
    return redirect(next_url(), code=303)


#: What a refused decision tells the moderator.
PROBLEMS = {
    "already_decided": "Someone decided this comment already; your decision was not recorded.",
    "changed": "This comment changed after you loaded it; your decision was not recorded.",
}


def wants_json() -> bool:
    """A decision sent by dashboard.js (fetch) rather than by the form itself."""
    return request.headers.get("X-Requested-With") == "fetch"


def _decision_json(outcome: review.DecisionOutcome, message: str):
    """The no-reload answer: ok and the new counts, or the problem and the card as it is."""
    with storage.reading(engine()) as conn:
        nav = nav_counts(conn)
        card = None
        if not outcome.ok:
            item = review.get_comment(conn, outcome.comment.id)
            card = render_template(
                "dashboard/_card.html",
                item=item,
                ctx=card_context(conn, [item]),
                here=next_url(),
            )
    body = {
        "ok": outcome.ok,
        "message": message if outcome.ok else PROBLEMS[outcome.problem],
        "problem": outcome.problem,
        "comment": outcome.comment.id,
        "status": outcome.comment.status,
        "nav": nav,
        "card": card,
    }
    return jsonify(body), 200 if outcome.ok else 409


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
        **pagination(total, page, AUDIT_PAGE_SIZE),
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
