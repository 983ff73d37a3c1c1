"""The Perspective-compatible routes: comments:analyze, comments:suggestscore, discovery.

Authentication is a site key sent as Google's clients send theirs (`?key=` or
`X-Goog-Api-Key`) or as our `Authorization: Bearer`. Every answer under /v1alpha1, errors
included, is in Google's shape (errors.py).
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from importlib import resources

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException

from moderator import auth
from moderator import metrics
from moderator import service
from moderator import storage
from moderator.errors import ApiError
from moderator.perspective.errors import GoogleError
from moderator.perspective.errors import from_http_exception
from moderator.perspective.requests import parse_request
from moderator.perspective.requests import parse_suggest
from moderator.perspective.scores import decision_from_stored
from moderator.perspective.scores import render_response
from moderator.perspective.scores import suggestion_label
from moderator.policy import Category
from moderator.storage import StorageUnavailable
from moderator.storage import comments as comments_store
from moderator.storage import review

bp = Blueprint("perspective", __name__)
#: Google's clients read the discovery document from here (no key needed, as at Google).
discovery_bp = Blueprint("perspective_discovery", __name__)

#: Who a human decision from comments:suggestscore is recorded as (the audit log's actor).
SUGGEST_ACTOR = "suggestscore"


def _services():
    return current_app.extensions["moderator"]


def presented_key() -> str | None:
    """The key as Google's clients send it (`X-Goog-Api-Key`, `?key=`), or our Bearer."""
    header = request.headers.get("X-Goog-Api-Key", "").strip()
    return header or auth.presented_key(allow_query_key=True)


@bp.before_request
def _authenticate() -> None:
    key = presented_key()
    if key is None:
        raise GoogleError(403, "The request is missing a valid API key.")
    site = auth.authenticate(_services().sites, key)
    if site is None:
        raise GoogleError(
            400,
            "API key not valid. Please pass a valid API key.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        )
    g.site = site


@bp.post("/v1alpha1/comments:analyze")
def analyze() -> Response:
    """Score a comment for the requested attributes; store it unless doNotStore is true."""
    s = _services()
    # get_data raises 413 past MAX_CONTENT_LENGTH, answered below in Google's shape.
    raw = request.get_data(cache=False)
    analyze_request = parse_request(
        raw, s.config.max_text_bytes, identify=_identify_code, supported=_languages(s)
    )
    comment = _unambiguous_token(analyze_request.comment)
    result = service.moderate(
        s.engine, s.moderation, g.site, comment, s.sites.webhook_events(g.site.id)
    )
    decision = result.fresh
    if decision is not None:
        metrics.observe_decisions([decision])
    else:
        # The same clientToken and text again: answer with the stored decision.
        decision = decision_from_stored(result.decision, result.scores, result.reasons)
    if not decision.scores:
        # Held for review (and stored, unless doNotStore), but there is nothing to score with.
        raise GoogleError(503, "The classifier is unavailable; try again later.")
    reflect_with = None
    if g.site.perspective_reflects_decision:
        rules = service.rules_for(s.moderation, g.site)
        reflect_with = rules.thresholds.get(Category.TOXICITY)
    body = render_response(analyze_request, decision, result.language, reflect_with)
    return Response(json.dumps(body), content_type="application/json")


def _languages(s) -> dict[str, tuple[str, ...]]:
    """Each language with a model -> the categories it scores (English: the main model's)."""
    main = s.moderation.classifier
    english = main.categories if main is not None else tuple(str(c) for c in Category)
    out = {"en": tuple(english)}
    others = s.moderation.others
    if others is not None:
        for language in others.languages:
            out[language] = others.categories(language) or ()
    return out


def _identify_code(text: str) -> str:
    return _services().moderation.identify([text])[0].code


def _unambiguous_token(comment):
    """Keep clientToken as the external id only while it names one text.

    A client that sends the same clientToken with different texts would otherwise get the
    first text's decision back for all of them; the later ones are stored without an
    external id (the token stays in their context).
    """
    if comment.external_id is None or not comment.store:
        return comment
    with storage.reading(_services().engine) as conn:
        found = comments_store.find_by_external_ids(conn, g.site.id, [comment.external_id])
    stored = found.get(comment.external_id)
    if stored is not None and stored.text != comment.text:
        return dataclasses.replace(comment, external_id=None)
    return comment


@bp.post("/v1alpha1/comments:suggestscore")
def suggestscore() -> Response:
    """Store a person's scores for a comment as a human decision that training exports."""
    s = _services()
    suggestion = parse_suggest(request.get_data(cache=False), s.config.max_text_bytes)
    decision, reason_code = suggestion_label(suggestion.scores)
    comment = suggestion.comment
    coral_id = (comment.context or {}).get("coral_comment_id")
    wanted = [i for i in (comment.external_id, coral_id) if i]
    with storage.reading(s.engine) as conn:
        found = comments_store.find_by_external_ids(conn, g.site.id, wanted) if wanted else {}
    target = next((found[i] for i in wanted if i in found and found[i].text == comment.text), None)
    if target is None:
        # Never seen (Coral's analyze sends doNotStore and no clientToken), or seen with
        # another text (an edit): decide and store this text, then label it.
        if comment.external_id in found:
            comment = dataclasses.replace(comment, external_id=None)
        result = service.moderate(
            s.engine, s.moderation, g.site, comment, s.sites.webhook_events(g.site.id)
        )
        comment_id, language = result.id, result.language
    else:
        comment_id, language = target.id, target.language
    with storage.transaction(s.engine) as conn:
        outcome = review.decide_comment(
            conn, comment_id, decision=decision, actor=SUGGEST_ACTOR, reason_code=reason_code
        )
    if outcome is not None and not outcome.ok:
        current_app.logger.info(
            "suggestscore for comment %s ignored: already decided by %s",
            comment_id,
            outcome.comment.decided_by,
        )
    body: dict = {}
    if suggestion.client_token is not None:
        body["clientToken"] = suggestion.client_token
    if suggestion.languages:
        body["requestedLanguages"] = list(suggestion.languages)
    body["detectedLanguages"] = [language or "und"]
    return Response(json.dumps(body), content_type="application/json")


@lru_cache(maxsize=1)
def _discovery_text() -> str:
    return (
        resources.files("moderator.perspective")
        .joinpath("discovery.json")
        .read_text(encoding="utf-8")
    )


@discovery_bp.get("/$discovery/rest")
def discovery() -> Response:
    """Google's discovery document for commentanalyzer v1alpha1, pointing at this server."""
    version = request.args.get("version", "v1alpha1")
    if version != "v1alpha1":
        raise GoogleError(404, f"Discovery document not found for API service: {version[:40]}")
    root = request.url_root
    document = json.loads(_discovery_text())
    for name in ("rootUrl", "mtlsRootUrl", "baseUrl"):
        document[name] = root
    return Response(json.dumps(document), content_type="application/json")


def _google_error(error: GoogleError) -> Response:
    return error.response()


def _storage_unavailable(error: StorageUnavailable) -> Response:
    current_app.logger.error("database unavailable on %s: %s", request.path, error)
    google = GoogleError(503, "The database is unavailable; nothing was stored.")
    google.headers["Retry-After"] = "5"
    return google.response()


def _api_error(error: ApiError) -> Response:
    return GoogleError(error.status, error.detail or "Invalid request.").response()


def _unexpected(error: Exception) -> Response:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return GoogleError(500, "Internal error.").response()


def _http_error(error: HTTPException) -> Response:
    return from_http_exception(error)


for _bp in (bp, discovery_bp):
    _bp.register_error_handler(GoogleError, _google_error)
    _bp.register_error_handler(StorageUnavailable, _storage_unavailable)
    _bp.register_error_handler(ApiError, _api_error)
    _bp.register_error_handler(HTTPException, _http_error)
    _bp.register_error_handler(Exception, _unexpected)
