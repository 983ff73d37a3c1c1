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
from werkzeug.routing import BaseConverter

from moderator import auth
from moderator import metrics
from moderator import schemas
from moderator import service
from moderator import storage
from moderator.desk import actions
from moderator.errors import ApiError
from moderator.errors import problem
from moderator.schemas import BatchItemError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)


def _services():
    return current_app.extensions["moderator"]


@bp.before_request
def authenticate() -> None:
    """Every API route needs a site's key; `g.site` is that site."""
    auth.require_site_key(_services().sites)


@bp.post("/moderate")
def moderate():
    """Decide one comment, store it (unless `store` is false) and return the decision."""
    s = _services()
    comment = schemas.parse_comment(request, s.config.max_text_bytes)
    result = service.moderate(
        s.engine, s.moderation, g.site, comment, s.sites.webhook_events(g.site.id)
    )
    _observe([result])
    return jsonify(result.to_dict())


@bp.post("/moderate/batch")
def moderate_batch():
    """Decide up to `batch_max` comments; each result is a decision or its own problem."""
    s = _services()
    items = schemas.parse_batch(
        request, s.config.max_text_bytes, s.config.batch_max, s.config.max_batch_bytes
    )
    valid = [item for item in items if not isinstance(item, BatchItemError)]
    decided = iter(
        service.moderate_batch(
            s.engine, s.moderation, g.site, valid, s.sites.webhook_events(g.site.id)
        )
        if valid
        else []
    )
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


class AnyId(BaseConverter):
    """A path segment that may hold slashes, even leading, doubled or trailing ones."""

    regex = ".+"
    part_isolating = False


@bp.record_once
def _register_converter(state) -> None:
    # Recorded before the routes below, so it exists when they are added.
    state.app.url_map.converters["any_id"] = AnyId


@bp.get("/comments/<any_id:comment_id>", merge_slashes=False)
def get_comment(comment_id: str):
    """A comment's current state, including a moderator's decision and note.

    `comment_id` is our id; the site's own id (`external_id`) is accepted too, slashes
    included (`c/2026/17`, sent as is or as `%2F`; `?` and `#` must be percent-encoded).
    Another site's comment is a 404, exactly like one that doesn't exist. A rejected comment
    carries its statement of reasons.
    """
    s = _services()
    return jsonify(actions.comment_state(s.engine, g.site, _ref(comment_id, "comment")))


@bp.post("/comments/<comment_id>/reports")
def report_comment(comment_id: str):
    """A reader's report of a comment: 201 when new, 200 with the earlier one when repeated."""
    s = _services()
    ref = _ref(comment_id, "comment")
    body = schemas.parse_report(request)
    answer, created = actions.report(s.engine, g.site, ref, body, s.config.report_window())
    return jsonify(answer), 201 if created else 200


@bp.post("/comments/<comment_id>/appeal")
def appeal_comment(comment_id: str):
    """The author's appeal of a rejection: once per decision, within the site's window."""
    s = _services()
    ref = _ref(comment_id, "comment")
    text = schemas.parse_appeal(request)
    return jsonify(actions.appeal(s.engine, g.site, ref, text)), 201


@bp.get("/authors/<author_id>")
def get_author(author_id: str):
    """An author's status on this site (banned, suspended, pre-moderated), with history."""
    s = _services()
    return jsonify(actions.author_state(s.engine, g.site, _ref(author_id, "author")))


@bp.get("/stories/<path:story>", merge_slashes=False)
def get_story(story: str):
    """A story by the site's story_id, else its URL: counts and pre-moderation."""
    s = _services()
    return jsonify(actions.story_state(s.engine, g.site, _ref(story, "story")))


@bp.patch("/stories/<path:story>", merge_slashes=False)
def patch_story(story: str):
    """Set a story's title or URL, or put it into (or out of) pre-moderation."""
    s = _services()
    ref = _ref(story, "story")
    patch = schemas.parse_story_patch(request)
    answer, created = actions.update_story(s.engine, g.site, ref, patch)
    return jsonify(answer), 201 if created else 200


def _ref(value: str, kind: str) -> str:
    # Comment and author ids are at most 255 characters; a story may be named by its URL.
    ref = schemas.ref(value) if kind == "story" else schemas.comment_ref(value)
    if ref is None:
        raise ApiError(404, f"no such {kind}")
    return ref


@bp.errorhandler(actions.NotFound)
def _not_found(error: actions.NotFound):
    return problem(404, str(error))


@bp.errorhandler(actions.Conflict)
def _conflict(error: actions.Conflict):
    return problem(409, error.detail, code=error.code)


@bp.errorhandler(actions.RateLimited)
def _rate_limited(error: actions.RateLimited):
    return problem(429, error.detail, headers={"Retry-After": str(error.retry_after)})


@health.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz():
    """Readiness: a model is loaded (or the operator chose to run without one) and the
    database answers with the current schema. A promoted model that failed to load is
    reported (`model_error`) while the previous one keeps serving."""
    s = _services()
    moderation = s.moderation
    checks = {
        "model": moderation.model_label is not None,
        "database": storage.ping(s.engine),
    }
    body = {"model": moderation.model_label, "checks": checks}
    others = moderation.others
    if others is not None and others.languages:
        # Loaded on each language's first comment in this worker: not a readiness check.
        loaded = others.loaded()
        body["languages"] = {
            lang: {"model": others.models[lang].label, "loaded": lang in loaded}
            for lang in others.languages
        }
    if s.config.without_model:
        body["without_model"] = True
    if s.serving.error is not None:
        body["model_error"] = s.serving.error
    required = {k: v for k, v in checks.items() if k != "model" or not s.config.without_model}
    if all(required.values()):
        return jsonify({"status": "ready", **body})
    failing = ", ".join(name for name, ok in required.items() if not ok)
    return problem(503, f"not ready: {failing}", headers={"Retry-After": "5"}, **body)


def _observe(results: list[service.StoredComment]) -> None:
    metrics.observe_decisions(r.fresh for r in results if r.fresh is not None)
