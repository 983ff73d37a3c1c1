"""Admins' Models page: what serves, every promotion, and candidates to promote with the gate.

A candidate is a folder beside the serving model (the models folder) with a model.json and,
to be promotable without skipping the gate, a `compare.json` written there by
`python -m training compare --candidate models/B --current ... --out models/B/compare.json`.
Promotion goes through moderator.promotion, as `moderator models promote` does: same checks,
same audit entry, the admin's name as who.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from moderator import accounts
from moderator import promotion
from moderator import storage
from moderator.classifier import METADATA_FILE
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.forms import clean_text
from moderator.storage import models as model_store

#: The compare report a candidate folder holds for the page to promote it with the gate.
REPORT_FILE = "compare.json"
#: Most candidate folders listed.
MAX_CANDIDATES = 100


def _folder() -> Path:
    return current_app.extensions["moderator"].config.model_path.parent


def candidates(folder: Path) -> list[dict]:
    """Model folders under `folder`: name, label, language and the compare report's verdict."""
    out = []
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.iterdir() if p.is_dir())[:MAX_CANDIDATES]:
        meta_path = path / METADATA_FILE
        if not meta_path.is_file():
            continue
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            label = f"{meta['name']}@{meta['version']}"
            language = str(meta.get("language", "en"))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        report = None
        if (path / REPORT_FILE).is_file():
            try:
                report = promotion.read_report(path / REPORT_FILE)
            except promotion.PromotionError as error:
                report = {"verdict": "unreadable", "reasons": [str(error)]}
        out.append({"name": path.name, "label": label, "language": language, "report": report})
    return out


def _page(error: str | None = None, status: int = 200):
    services = current_app.extensions["moderator"]
    with storage.reading(engine()) as conn:
        history = model_store.history(conn, 50)
    return render_template(
        "dashboard/models.html",
        serving=services.serving.current.model_label,
        model_error=services.serving.error,
        history=history,
        candidates=candidates(_folder()),
        error=error,
    ), status


@bp.get("/models")
@accounts.admin_required
def models():
    """Admins: the serving model, the promotions, and the candidates beside it."""
    return _page()


@bp.post("/models/promote")
@accounts.admin_required
def models_promote():
    """Promote a candidate folder for every worker (with its compare report, or without the
    gate when the admin says so); audited with the admin's name and reason."""
    name = clean_text(request.form.get("name", ""), "name", 200)
    reason = request.form.get("reason", "")
    skip_gate = request.form.get("skip_gate") == "on"
    wanted = {c["name"]: c for c in candidates(_folder())}
    if name not in wanted:
        return _page(f"no model folder {name!r} beside the serving model", 400)
    path = _folder() / name
    try:
        report = None
        if not skip_gate:
            if not (path / REPORT_FILE).is_file():
                raise promotion.PromotionError(
                    f"{name} has no {REPORT_FILE}: run python -m training compare with "
                    f"--out {path / REPORT_FILE}, or promote without the gate"
                )
            report = promotion.read_report(path / REPORT_FILE)
        promoted = promotion.promote(
            engine(),
            path,
            actor=current_user.username,
            reason=reason,
            report=report,
            skip_gate=skip_gate,
            default_model=current_app.extensions["moderator"].config.model_path,
        )
    except promotion.PromotionError as error:
        return _page(str(error), 409)
    flash(f"Promoted {promoted.label}; every worker serves it within about a second.", "success")
    return redirect(url_for("dashboard.models"), code=303)
