"""The JSON API (/api/v1/...) and the health checks: parse, call the service, serialise.

Every route of `bp` needs a site's API key; `health` needs none. No logic of its own here:
validation is `schemas`, deciding and storing is `service`, errors are `errors`.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import request

from moderator import auth
from moderator import metrics
from moderator import schemas
from moderator import service
from moderator import storage
from moderator.errors import ApiError
from moderator.errors import problem
from moderator.schemas import BatchItemError
from moderator.storage import comments as comments_store

bp = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)


def _services():
    return current_app.extensions["moderator"]


@bp.before_request
def authenticate() -> None:
    """Every API route needs a site's key; `g.site` is that site."""
    auth.require_site_key(_services().engine)


@bp.post("/moderate")
def moderate():
    """Decide one comment, store it (unless `store` is false) and return the decision."""
    s = _services()
    comment = schemas.parse_comment(request, s.config.max_text_bytes)
    result = service.moderate(s.engine, s.moderation, g.site, comment)
    _observe([result])
    return jsonify(result.to_dict())


@bp.post("/moderate/batch")
def moderate_batch():
    """Decide up to `batch_max` comments; each result is a decision or its own problem."""
    s = _services()
    items = schemas.parse_batch(request, s.config.max_text_bytes, s.config.batch_max)
    valid = [item for item in items if not isinstance(item, BatchItemError)]
    decided = iter(service.moderate_batch(s.engine, s.moderation, g.site, valid) if valid else [])
    results = []
    stored = []
    for item in items:
        if isinstance(item, BatchItemError):
            results.append(item.to_dict())
        else:
            result = next(decided)
            stored.append(result)
            results.append(result.to_dict())
    _observe(stored)
    return jsonify({"results": results})


@bp.get("/comments/<comment_id>")
def get_comment(comment_id: str):
    """A comment's current state, including a moderator's decision and note.

    `comment_id` is our id; the site's own id (`external_id`) is accepted too. Another
    site's comment is a 404, exactly like one that doesn't exist.
    """
    s = _services()
    ref = schemas.comment_ref(comment_id)
    found = None
    if ref is not None:
        with storage.reading(s.engine) as conn:
            found = comments_store.get_comment(conn, g.site.id, ref)
            if found is None:
                found = comments_store.find_by_external_ids(conn, g.site.id, [ref]).get(ref)
    if found is None:
        raise ApiError(404, "no such comment")
    return jsonify(found.to_dict())


@health.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz():
    """Readiness: a model is loaded and the database answers with the current schema."""
    s = _services()
    checks = {
        "model": s.moderation.model_label is not None,
        "database": storage.ping(s.engine),
    }
    body = {"model": s.moderation.model_label, "checks": checks}
    others = s.moderation.others
    if others is not None and others.languages:
        # Loaded on each language's first comment in this worker: not a readiness check.
        loaded = others.loaded()
        body["languages"] = {
            lang: {"model": others.models[lang].label, "loaded": lang in loaded}
            for lang in others.languages
        }
    if all(checks.values()):
        return jsonify({"status": "ready", **body})
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    return problem(503, f"not ready: {failing}", headers={"Retry-After": "5"}, **body)


def _observe(results: list[service.StoredComment]) -> None:
    metrics.observe_decisions(r.fresh for r in results if r.fresh is not None)
