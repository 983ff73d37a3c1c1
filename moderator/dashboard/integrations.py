"""Admin pages for a site's integrations: Coral's signing secrets, the language and
Perspective settings, webhook endpoints, and every webhook delivery with its attempts.
"""

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

from moderator import accounts
from moderator import service
from moderator import storage
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.forms import bad
from moderator.dashboard.forms import clean_text
from moderator.dashboard.forms import int_arg
from moderator.perspective.scores import coral_threshold
from moderator.policy import Category
from moderator.storage import outbox
from moderator.storage import secrets as secret_store
from moderator.storage import sites as site_store
from moderator.storage import webhooks as webhook_store

KINDS = {"phase": "coral_phase", "webhook": "coral_webhook"}
DELIVERY_PAGE = 100


def _site_or_404(conn, site_id: int) -> site_store.Site:
    site = site_store.get_site(conn, site_id)
    if site is None:
        abort(404)
    return site


def _page(site_id: int, *, new_endpoint=None, status: int = 200):
    with storage.reading(engine()) as conn:
        site = _site_or_404(conn, site_id)
        found = secret_store.list_secrets(conn, site.id)
        endpoints = webhook_store.list_endpoints(conn, site.id)
    moderation = current_app.extensions["moderator"].moderation
    hold = service.rules_for(moderation, site).thresholds.get(Category.TOXICITY)
    return render_template(
        "dashboard/integrations.html",
        site=site,
        secrets={kind: [s for s in found if s.kind == name] for kind, name in KINDS.items()},
        endpoints=endpoints,
        events=webhook_store.EVENTS,
        new_endpoint=new_endpoint,
        coral_threshold=coral_threshold(hold.hold) if hold else None,
        model_languages=("en", *(moderation.others.languages if moderation.others else ())),
        now=storage.now(),
    ), status


@bp.get("/sites/<int:site_id>/integrations")
@accounts.admin_required
def integrations(site_id: int):
    """Admins: Coral, Perspective, languages and webhooks for one site."""
    return _page(site_id)


def _back(site_id: int):
    return redirect(url_for("dashboard.integrations", site_id=site_id), code=303)


@bp.post("/sites/<int:site_id>/coral-secrets")
@accounts.admin_required
def coral_secret_add(site_id: int):
    """Admins: store a signing secret copied from Coral's admin."""
    kind = request.form.get("kind", "")
    if kind not in KINDS:
        bad("kind must be phase or webhook")
    value = clean_text(request.form.get("secret", ""), "secret", secret_store.MAX_SECRET_LENGTH)
    hours = request.form.get("expires_in", "").strip()
    expires = None
    if hours:
        try:
            amount = float(hours)
        except ValueError:
            bad("expires in must be a number of hours")
        if not 0 < amount <= 24 * 365:
            bad("expires in must be between 0 and 8760 hours")
        expires = storage.now() + dt.timedelta(hours=amount)
    try:
        with storage.transaction(engine()) as conn:
            site = _site_or_404(conn, site_id)
            added = secret_store.add_secret(
                conn, site.id, KINDS[kind], value, expires_at=expires, actor=current_user.username
            )
    except secret_store.SecretError as problem:
        bad(str(problem))
    flash(f"Stored Coral {kind} secret {added.label}.", "success")
    return _back(site_id)


@bp.post("/sites/<int:site_id>/coral-secrets/<label>/remove")
@accounts.admin_required
def coral_secret_remove(site_id: int, label: str):
    """Admins: forget a signing secret (e.g. once Coral's rotation is over)."""
    try:
        with storage.transaction(engine()) as conn:
            site = _site_or_404(conn, site_id)
            secret_store.remove_secret(conn, site.id, label[:40], actor=current_user.username)
    except secret_store.SecretError as problem:
        bad(str(problem))
    flash(f"Removed secret {label[:40]}.", "success")
    return _back(site_id)


@bp.post("/sites/<int:site_id>/settings")
@accounts.admin_required
def site_settings(site_id: int):
    """Admins: the language policy and the Perspective door's TOXICITY setting."""
    language = request.form.get("unsupported_language", "")
    if language not in ("hold", "allow"):
        bad("unsupported language must be hold or allow")
    reflect = request.form.get("perspective_reflects_decision", "off")
    if reflect not in ("on", "off"):
        bad("perspective reflects decision must be on or off")
    raw = clean_text(request.form.get("languages", ""), "languages", 400)
    codes = [c.strip().lower() for c in raw.replace(" ", ",").split(",") if c.strip()]
    languages = None if codes in ([], ["all"]) else codes
    try:
        with storage.transaction(engine()) as conn:
            site = _site_or_404(conn, site_id)
            site_store.set_options(
                conn,
                site.name,
                actor=current_user.username,
                unsupported_language=language,
                perspective_reflects_decision=reflect == "on",
                languages=languages,
            )
    except site_store.SiteError as problem:
        bad(str(problem))
    flash("Settings saved.", "success")
    return _back(site_id)


@bp.post("/sites/<int:site_id>/webhooks")
@accounts.admin_required
def webhook_add(site_id: int):
    """Admins: add an endpoint; its signing secret is shown on the next page, once."""
    url = clean_text(request.form.get("url", ""), "url", 2000)
    events = request.form.getlist("events")
    if len(events) > len(webhook_store.EVENTS):
        bad("too many events")
    try:
        with storage.transaction(engine()) as conn:
            site = _site_or_404(conn, site_id)
            endpoint = webhook_store.add_endpoint(
                conn,
                site.id,
                url,
                events,
                include_note=request.form.get("include_note") == "on",
                actor=current_user.username,
            )
    except webhook_store.WebhookError as problem:
        bad(str(problem))
    return _page(site_id, new_endpoint=endpoint)


@bp.post("/sites/<int:site_id>/webhooks/<int:endpoint_id>/remove")
@accounts.admin_required
def webhook_remove(site_id: int, endpoint_id: int):
    """Admins: stop sending to an endpoint (its undelivered events fail)."""
    try:
        with storage.transaction(engine()) as conn:
            site = _site_or_404(conn, site_id)
            webhook_store.disable_endpoint(
                conn, endpoint_id, site_id=site.id, actor=current_user.username
            )
    except webhook_store.WebhookError as problem:
        bad(str(problem))
    flash(f"Removed webhook endpoint {endpoint_id}.", "success")
    return _back(site_id)


@bp.get("/webhooks")
@accounts.admin_required
def webhook_deliveries():
    """Admins: the newest webhook deliveries and every attempt (status or error, duration)."""
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in ("pending", "delivered", "failed"):
        bad("status must be pending, delivered or failed")
    site_id = int_arg(request.args, "site", default=None, high=2**31 - 1)
    with storage.reading(engine()) as conn:
        found = outbox.list_deliveries(conn, site_id=site_id, status=status, limit=DELIVERY_PAGE)
        attempts = outbox.attempts_of(conn, [d.id for d in found])
        counts = outbox.counts(conn)
        names = {s.id: s.name for s in site_store.list_sites(conn)}
        endpoints = {e.id: e for e in webhook_store.list_endpoints(conn)}
    return render_template(
        "dashboard/webhooks.html",
        deliveries=found,
        attempts=attempts,
        counts=counts,
        names=names,
        endpoints=endpoints,
        status=status,
        site_id=site_id,
    )


@bp.post("/webhooks/<delivery_id>/retry")
@accounts.admin_required
def webhook_retry(delivery_id: str):
    """Admins: send a failed delivery again now."""
    try:
        with storage.transaction(engine()) as conn:
            outbox.retry_delivery(conn, delivery_id[:40], actor=current_user.username)
    except webhook_store.WebhookError as problem:
        bad(str(problem))
    flash(f"Delivery {delivery_id[:40]} queued again.", "success")
    return redirect(url_for("dashboard.webhook_deliveries"), code=303)
