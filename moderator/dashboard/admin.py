"""Admin pages: sites, API keys, thresholds, word lists, wordlist action (403 for moderators)."""

from __future__ import annotations

import datetime as dt

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from moderator import accounts
from moderator import storage
from moderator.auth import display_prefix
from moderator.auth import generate_key
from moderator.auth import hash_key
from moderator.dashboard import MAX_WORD
from moderator.dashboard import MAX_WORDS
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.display import isolate
from moderator.dashboard.forms import bad
from moderator.dashboard.forms import clean_text
from moderator.dashboard.forms import int_arg
from moderator.policy import CATEGORIES
from moderator.policy import thresholds_from_dict
from moderator.policy import thresholds_to_dict
from moderator.rules import WordList
from moderator.storage import sites as site_store


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
        now=storage.now(),
    ), status


@bp.route("/sites", methods=["GET", "POST"])
@accounts.admin_required
def sites():
    """Admins: every site, and a form to add one (its API key is shown once)."""
    error, status = None, 200
    if request.method == "POST":
        name = clean_text(request.form.get("name", ""), "name", 200)
        if not name.isprintable():
            bad("a site name must be printable characters on one line")
        if not name:
            error, status = "A site needs a name.", 400
        else:
            key = generate_key()
            try:
                with storage.transaction(engine()) as conn:
                    site = site_store.create_site(
                        conn, name, hash_key(key), display_prefix(key), actor=current_user.username
                    )
            except site_store.SiteError as problem:
                error, status = str(problem), 400
            else:
                # The only time the key exists outside the client's hands: never stored,
                # never logged, never put in a redirect URL or the session.
                return render_template("dashboard/site_key.html", site=site, key=key)
    with storage.reading(engine()) as conn:
        all_sites = site_store.list_sites(conn)
    return render_template("dashboard/sites.html", sites=all_sites, error=error), status


@bp.get("/sites/<int:site_id>")
@accounts.admin_required
def site(site_id: int):
    """Admins: one site's thresholds, word lists and wordlist action."""
    with storage.reading(engine()) as conn:
        return _site_page(_site_or_404(conn, site_id))


def _threshold_form() -> dict:
    thresholds = {}
    for category in CATEGORIES:
        hold = request.form.get(f"{category}-hold", "").strip()
        reject = request.form.get(f"{category}-reject", "").strip()
        if not hold and not reject:
            continue
        if not hold or not reject:
            bad(f"{category}: give both hold and reject, or neither to use the model's default")
        try:
            values = {"hold": float(hold), "reject": float(reject)}
        except ValueError:
            bad(f"{category}: thresholds must be numbers between 0 and 1")
        if any(v != v for v in values.values()):
            bad(f"{category}: thresholds must be numbers between 0 and 1")
        thresholds[str(category)] = values
    try:
        return thresholds_to_dict(thresholds_from_dict(thresholds))
    except ValueError as problem:
        bad(str(problem))


@bp.post("/sites/<int:site_id>/thresholds")
@accounts.admin_required
def site_thresholds(site_id: int):
    """Admins: set a site's per-category thresholds (empty: the model's defaults)."""
    thresholds = _threshold_form()
    with storage.transaction(engine()) as conn:
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
        bad(f"list must be one of {', '.join(site_store.WORD_LISTS)}")
    raw = clean_text(request.form.get("words", ""), "words", MAX_WORDS * (MAX_WORD + 1))
    words = [w.strip() for w in raw.splitlines() if w.strip()]
    if len(words) > MAX_WORDS:
        bad(f"a list holds at most {MAX_WORDS} words")
    if any(len(w) > MAX_WORD for w in words):
        bad(f"a word or phrase is at most {MAX_WORD} characters")
    lists = {k: [] for k in site_store.WORD_LISTS}
    lists[kind] = words
    try:
        # The same check the CLI makes: a bad entry fails here, not on the next comment.
        WordList.compile(**lists)
    except ValueError as problem:
        bad(str(problem))
    with storage.transaction(engine()) as conn:
        site = _site_or_404(conn, site_id)
        site_store.set_words(conn, site.name, kind, words, actor=current_user.username)
    flash(f"{kind.capitalize()} list saved ({len(set(words))} entries).", "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/wordlist-action")
@accounts.admin_required
def site_wordlist_action(site_id: int):
    """Admins: set what the default word list's reject-tier words do (reject or hold)."""
    action = request.form.get("wordlist_action", "")
    if action not in site_store.WORDLIST_ACTIONS:
        bad(f"wordlist action must be one of {', '.join(site_store.WORDLIST_ACTIONS)}")
    with storage.transaction(engine()) as conn:
        site = _site_or_404(conn, site_id)
        site_store.set_wordlist_action(conn, site.name, action, actor=current_user.username)
    flash(f"Default word list: {action}.", "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/revoke")
@accounts.admin_required
def site_revoke(site_id: int):
    """Admins: revoke a site's API key for good (its comments stay)."""
    with storage.transaction(engine()) as conn:
        site = _site_or_404(conn, site_id)
        if not site.active:
            flash(Markup("%s was already revoked.") % isolate(site.name), "error")
        else:
            site_store.revoke_site(conn, site.name, actor=current_user.username)
            flash(Markup("Revoked the API key of %s.") % isolate(site.name), "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/desk")
@accounts.admin_required
def site_desk(site_id: int):
    """Admins: a site's report threshold, appeal window and new-author pre-moderation."""
    values = {}
    for setting, (low, high) in site_store.DESK_SETTINGS.items():
        value = int_arg(request.form, setting, low=low, high=high)
        if value is None:
            bad(f"{setting} is required")
        values[setting] = value
    with storage.transaction(engine()) as conn:
        site = _site_or_404(conn, site_id)
        for setting, value in values.items():
            if getattr(site, setting) != value:
                site_store.set_desk_setting(
                    conn, site.name, setting, value, actor=current_user.username
                )
    flash("Report, appeal and new-author settings saved.", "success")
    return redirect(url_for("dashboard.site", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/rotate-key")
@accounts.admin_required
def site_rotate_key(site_id: int):
    """Admins: give a site a new API key; the old one works for the chosen grace period."""
    hours = int_arg(request.form, "grace_hours", low=0, high=site_store.MAX_KEY_GRACE.days * 24)
    if hours is None:
        bad("grace_hours is required")
    key = generate_key()
    try:
        with storage.transaction(engine()) as conn:
            site = _site_or_404(conn, site_id)
            site = site_store.rotate_key(
                conn,
                site.name,
                hash_key(key),
                display_prefix(key),
                dt.timedelta(hours=hours),
                actor=current_user.username,
            )
    except site_store.SiteError as problem:
        with storage.reading(engine()) as conn:
            return _site_page(_site_or_404(conn, site_id), error=str(problem), status=400)
    # Shown once, as at creation: never stored, logged or put in a URL.
    return render_template("dashboard/site_key.html", site=site, key=key, rotated=True)
