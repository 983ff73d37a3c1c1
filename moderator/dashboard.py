"""The moderators' dashboard: review queue, decisions, audit log, stats and site admin (HTML).

Comment text is only ever rendered through Jinja's autoescaping. Triggering words are
highlighted by cutting the text at the reasons' spans here in Python into (segment,
highlighted) pairs that the template escapes one by one, so no markup is ever built
from comment text.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from moderator import accounts
from moderator import storage
from moderator.auth import display_prefix
from moderator.auth import generate_key
from moderator.auth import hash_key
from moderator.policy import CATEGORIES
from moderator.policy import CLASSIFIER_UNAVAILABLE
from moderator.policy import thresholds_from_dict
from moderator.policy import thresholds_to_dict
from moderator.rules import WordList
from moderator.storage import review
from moderator.storage import sites as site_store

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 100
MAX_NOTE = 2000
MAX_SEARCH = 200
MAX_BULK = 200
MAX_WORDS = 5000
MAX_WORD = 100
FILTER_CATEGORIES = (*(str(c) for c in CATEGORIES), CLASSIFIER_UNAVAILABLE)

#: The list views: title, status shown (None: all) and order.
VIEWS = {
    "queue": ("Queue", "hold", True),
    "approved": ("Approved", "allow", False),
    "rejected": ("Rejected", "reject", False),
    "all": ("All comments", None, False),
}


def init_app(app: Flask) -> None:
    """Register the dashboard and send `/` to it."""
    app.register_blueprint(bp)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "index", lambda: redirect(url_for("dashboard.queue")))


def _guard():
    if request.endpoint == "dashboard.static":
        return None
    return accounts.require_login()


bp.before_request(accounts.protect_forms)
bp.before_request(accounts.enforce_session)
bp.before_request(_guard)
bp.after_request(accounts.security_headers)
bp.register_error_handler(Exception, accounts.render_error)


def _engine():
    return current_app.extensions["moderator.engine"]


# -- display helpers (also used by the templates) -------------------------------------------------


def highlight(text: str, reasons: Iterable[Mapping]) -> list[tuple[str, bool]]:
    """`text` cut into (segment, highlighted) pairs at the reasons' spans.

    Spans are [start, end) character offsets into the text. Malformed, out-of-range or
    empty spans are ignored and overlapping ones merged, so stored data can never make
    this fail or drop text: the segments always join back to `text`.
    """
    spans = []
    for reason in reasons:
        for span in reason.get("spans") or () if isinstance(reason, Mapping) else ():
            if not isinstance(span, list | tuple) or len(span) != 2:
                continue
            start, end = span
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
                continue
            start, end = max(0, start), min(len(text), end)
            if start < end:
                spans.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments, position = [], 0
    for start, end in merged:
        if position < start:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL fit to link to, else None (shown as text)."""
    if not url or len(url) > 2000:
        return None
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def default_reason(item: review.ReviewComment) -> str:
    """The reason code preselected for a rejection: the first reason's category, if a code."""
    for reason in item.reasons:
        if reason.get("category") in review.REASON_CODES:
            return reason["category"]
    return "toxicity"


def _past_tense(decision: str | None) -> str:
    return {"approve": "approved", "reject": "rejected"}.get(decision or "", decision or "")


def _timestamp(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shown(value) -> str:
    """An audit value as text: JSON for lists and objects, "–" for nothing (escaped later)."""
    if value is None:
        return "–"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


bp.add_app_template_filter(_timestamp, "timestamp")
bp.add_app_template_filter(_shown, "shown")
bp.add_app_template_global(highlight, "highlight")
bp.add_app_template_global(safe_url, "safe_url")
bp.add_app_template_global(default_reason, "default_reason")
bp.add_app_template_global(_past_tense, "past_tense")


@bp.record_once
def _template_globals(state) -> None:
    # Globals rather than a context processor, so imported macros see them too.
    state.app.jinja_env.globals.update(
        reason_codes=review.REASON_CODES,
        filter_categories=FILTER_CATEGORIES,
        categories=[str(c) for c in CATEGORIES],
        max_note=MAX_NOTE,
    )


# -- input parsing --------------------------------------------------------------------------------


def _bad(message: str):
    abort(400, description=message)


def _date(args, name: str) -> dt.date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        _bad(f"{name} must be a date like 2026-01-31")


def _int(args, name: str, *, default=None, low=1, high=10_000_000):
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        _bad(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _text(value: str, name: str, limit: int) -> str:
    """Form text: NFC, trimmed, no control characters but tab and newline, at most `limit`."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if len(value) > limit:
        _bad(f"{name} is too long ({len(value):,} characters; the limit is {limit:,})")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n" for ch in value):
        _bad(f"{name} contains control characters")
    return value


def _comment_filter(status: str | None) -> review.CommentFilter:
    args = request.args
    category = args.get("category", "").strip() or None
    if category is not None and category not in FILTER_CATEGORIES:
        _bad(f"category must be one of {', '.join(FILTER_CATEGORIES)}")
    decided = args.get("decided", "").strip() or None
    if decided not in (None, "human", "automatic"):
        _bad("decided must be human or automatic")
    search = _text(args.get("q", ""), "search", MAX_SEARCH) or None
    since, until = _date(args, "since"), _date(args, "until")
    if since and until and since > until:
        _bad("since is after until")
    return review.CommentFilter(
        status=status,
        site_id=_int(args, "site"),
        category=category,
        since=since,
        until=until,
        search=search,
        decided=decided,
    )


def _plausible_id(comment_id: str) -> bool:
    """Could this be a stored comment id? (Never send control characters to the database.)"""
    return 0 < len(comment_id) <= 36 and comment_id.isprintable()


def _next_url() -> str:
    return accounts.safe_next(request.form.get("next"), url_for("dashboard.queue"))


# -- the lists and one comment --------------------------------------------------------------------


def _list_view(view: str):
    title, status, oldest_first = VIEWS[view]
    filters = _comment_filter(status)
    page = _int(request.args, "page", default=1, high=100_000)
    with storage.reading(_engine()) as conn:
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
    if not _plausible_id(comment_id):
        abort(404)
    with storage.reading(_engine()) as conn:
        item = review.get_comment(conn, comment_id)
        if item is None:
            abort(404)
        history, _ = review.audit_entries(conn, review.AuditFilter(comment_id=comment_id))
    return render_template("dashboard/comment.html", item=item, history=history, problem=None)


def _decision_fields():
    decision = request.form.get("decision", "")
    if decision not in review.STATUS_AFTER:
        _bad("decision must be approve or reject")
    note = _text(request.form.get("note", ""), "note", MAX_NOTE) or None
    reason_code = request.form.get("reason_code", "").strip() or None
    if decision == "approve":
        # One form carries both buttons; a reason only means something for a rejection.
        reason_code = None
    elif reason_code not in review.REASON_CODES:
        _bad(f"a rejection needs a reason: one of {', '.join(review.REASON_CODES)}")
    return decision, note, reason_code


@bp.post("/comments/<comment_id>/decision")
def decide(comment_id: str):
    """Approve or reject one comment; a comment already decided is left as it is (409)."""
    if not _plausible_id(comment_id):
        abort(404)
    decision, note, reason_code = _decision_fields()
    version = _int(request.form, "version")
    if version is None:
        _bad("version is required")
    with storage.transaction(_engine()) as conn:
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
        with storage.reading(_engine()) as conn:
            history, _ = review.audit_entries(conn, review.AuditFilter(comment_id=comment_id))
        return render_template(
            "dashboard/comment.html", item=outcome.comment, history=history, problem=outcome.problem
        ), 409
    verb = "Approved" if decision == "approve" else "Rejected"
    flash(f"{verb} comment {comment_id[:8]}.", "success")
    return redirect(_next_url(), code=303)


@bp.post("/bulk")
def bulk():
    """Approve or reject every selected comment; already-decided ones are counted, not changed."""
    decision, note, reason_code = _decision_fields()
    selected = request.form.getlist("ids")
    if not selected:
        _bad("select at least one comment")
    if len(selected) > MAX_BULK:
        _bad(f"select at most {MAX_BULK} comments at a time")
    wanted: dict[str, int] = {}
    for value in selected:
        comment_id, _, version = value.rpartition(":")
        if not _plausible_id(comment_id) or not version.isascii() or not version.isdigit():
            _bad("a selected comment id is malformed")
        wanted[comment_id] = int(version)
    counts: Counter = Counter()
    for comment_id, version in wanted.items():
        # One transaction per comment: a conflict on one never undoes the others.
        with storage.transaction(_engine()) as conn:
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
    return redirect(_next_url(), code=303)


# -- audit log and stats --------------------------------------------------------------------------


@bp.get("/audit")
def audit():
    """The audit log, newest first, filterable by actor, action, comment, site and date."""
    args = request.args
    since, until = _date(args, "since"), _date(args, "until")
    filters = review.AuditFilter(
        actor=_text(args.get("actor", ""), "actor", 200) or None,
        action=_text(args.get("action", ""), "action", 100) or None,
        comment_id=_text(args.get("comment", ""), "comment", 36) or None,
        site_id=_int(args, "site"),
        since=since,
        until=until,
    )
    page = _int(args, "page", default=1, high=100_000)
    with storage.reading(_engine()) as conn:
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


def stacked_bars(
    by_day: Mapping[str, Counter], keys: Iterable[str], first: dt.date, last: dt.date
) -> dict:
    """SVG geometry for one stacked bar per day (oldest left), scaled to the busiest day."""
    keys = list(keys)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    height, step = 160.0, max(4.0, min(24.0, 720.0 / max(1, len(days))))
    totals = [sum(by_day.get(d.isoformat(), Counter())[k] for k in keys) for d in days]
    peak = max(totals, default=0)
    scale = peak or 1
    bars = []
    for i, (day, total) in enumerate(zip(days, totals, strict=True)):
        counts, y, segments = by_day.get(day.isoformat(), Counter()), height, []
        for key in keys:
            if counts[key]:
                h = counts[key] / scale * height
                y -= h
                segments.append({"key": key, "n": counts[key], "y": round(y, 2), "h": round(h, 2)})
        bars.append(
            {"x": round(i * step, 2), "day": day.isoformat(), "total": total, "segments": segments}
        )
    return {
        "width": round(len(days) * step, 2),
        "height": height,
        "bar": round(step * 0.8, 2),
        "bars": bars,
        "peak": peak,
        "total": sum(totals),
        "series": keys,
    }


def bar_rows(counts: Counter, order: Iterable[str] | None = None) -> list[dict]:
    """Horizontal bar rows (label, count, share of the largest) for a counter."""
    labels = list(order) if order is not None else [k for k, _ in counts.most_common()]
    labels += [k for k in counts if k not in labels]
    peak = max(counts.values(), default=0) or 1
    return [{"label": k, "n": counts[k], "share": counts[k] / peak} for k in labels]


@bp.get("/stats")
def stats():
    """Decisions per day, by category, automatic vs human, and how often people overturn."""
    days = _int(request.args, "days", default=30, high=366)
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    with storage.reading(_engine()) as conn:
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


# -- admin: sites, keys, thresholds, word lists ---------------------------------------------------


def _site_or_404(conn, site_id: int) -> site_store.Site:
    site = site_store.get_site(conn, site_id)
    if site is None:
        abort(404)
    return site


def _site_page(site: site_store.Site, *, error: str | None = None, status: int = 200):
    defaults = current_app.extensions["moderator"].moderation.default_rules.thresholds
    return render_template(
        "dashboard/site.html",
        site=site,
        thresholds=site.thresholds or {},
        defaults=thresholds_to_dict(defaults) if defaults else {},
        error=error,
    ), status


@bp.route("/sites", methods=["GET", "POST"])
@accounts.admin_required
def sites():
    """Admins: every site, and a form to add one (its API key is shown once)."""
    error, status = None, 200
    if request.method == "POST":
        name = _text(request.form.get("name", ""), "name", 200)
        if not name.isprintable():
            _bad("a site name must be printable characters on one line")
        if not name:
            error, status = "A site needs a name.", 400
        else:
            key = generate_key()
            try:
                with storage.transaction(_engine()) as conn:
                    site = site_store.create_site(
                        conn, name, hash_key(key), display_prefix(key), actor=current_user.username
                    )
            except site_store.SiteError as problem:
                error, status = str(problem), 400
            else:
                # The only time the key exists outside the client's hands: never stored,
                # never logged, never put in a redirect URL or the session.
                return render_template("dashboard/site_key.html", site=site, key=key)
    with storage.reading(_engine()) as conn:
        all_sites = site_store.list_sites(conn)
    return render_template("dashboard/sites.html", sites=all_sites, error=error), status


@bp.get("/sites/<int:site_id>")
@accounts.admin_required
def site(site_id: int):
    """Admins: one site's thresholds and word lists."""
    with storage.reading(_engine()) as conn:
        return _site_page(_site_or_404(conn, site_id))


def _threshold_form() -> dict:
    thresholds = {}
    for category in CATEGORIES:
        hold = request.form.get(f"{category}-hold", "").strip()
        reject = request.form.get(f"{category}-reject", "").strip()
        if not hold and not reject:
            continue
        if not hold or not reject:
            _bad(f"{category}: give both hold and reject, or neither to use the model's default")
        try:
            values = {"hold": float(hold), "reject": float(reject)}
        except ValueError:
            _bad(f"{category}: thresholds must be numbers between 0 and 1")
        if any(v != v for v in values.values()):
            _bad(f"{category}: thresholds must be numbers between 0 and 1")
        thresholds[str(category)] = values
    try:
        return thresholds_to_dict(thresholds_from_dict(thresholds))
    except ValueError as problem:
        _bad(str(problem))


@bp.post("/sites/<int:site_id>/thresholds")
@accounts.admin_required
def site_thresholds(site_id: int):
    """Admins: set a site's per-category thresholds (empty: the model's defaults)."""
    thresholds = _threshold_form()
    with storage.transaction(_engine()) as conn:
        site = _site_or_404(conn, site_id)
        site_store.set_thresholds(conn, site.name, thresholds or None, actor=current_user.username)
    flash("Thresholds saved.", "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/words")
@accounts.admin_required
def site_words(site_id: int):
    """Admins: replace a site's block, suspect or allow list (one entry a line).

    An entry is a word or phrase, optionally `word:category` to set the category it counts as.
    """
    kind = request.form.get("kind", "")
    if kind not in site_store.WORD_LISTS:
        _bad(f"list must be one of {', '.join(site_store.WORD_LISTS)}")
    raw = _text(request.form.get("words", ""), "words", MAX_WORDS * (MAX_WORD + 1))
    words = [w.strip() for w in raw.splitlines() if w.strip()]
    if len(words) > MAX_WORDS:
        _bad(f"a list holds at most {MAX_WORDS} words")
    if any(len(w) > MAX_WORD for w in words):
        _bad(f"a word or phrase is at most {MAX_WORD} characters")
    lists = {k: [] for k in site_store.WORD_LISTS}
    lists[kind] = words
    try:
        # The same check the CLI makes: a bad entry fails here, not on the next comment.
        WordList.compile(**lists)
    except ValueError as problem:
        _bad(str(problem))
    with storage.transaction(_engine()) as conn:
        site = _site_or_404(conn, site_id)
        site_store.set_words(conn, site.name, kind, words, actor=current_user.username)
    flash(f"{kind.capitalize()} list saved ({len(set(words))} entries).", "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/revoke")
@accounts.admin_required
def site_revoke(site_id: int):
    """Admins: revoke a site's API key for good (its comments stay)."""
    with storage.transaction(_engine()) as conn:
        site = _site_or_404(conn, site_id)
        if not site.active:
            flash(f"{site.name} was already revoked.", "error")
        else:
            site_store.revoke_site(conn, site.name, actor=current_user.username)
            flash(f"Revoked the API key of {site.name}.", "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)
