"""The routes Coral is configured with: its external moderation phase and its webhooks.

Coral's settings for either hold only a URL and a signing secret, so the site is named by
the URL (`/coral/v1/sites/<site id>/...`) and authenticated by the signature: the request
must be signed with one of the secrets stored for that site (`moderator sites coral-secret`
or the dashboard). An unknown site, a site without secrets and a wrong signature all get
the same 401, so the URL tells nothing about which sites exist. Errors are problem+json
(Coral logs the status and skips the phase).

Rate limit: a signed request spends one unit of the site's Coral budget (`coral:<site id>`,
MODERATOR_RATE_LIMIT and the CPU budget, as a key's); an unsigned or wrongly signed one
spends its client address's budget, so it can't use up the site's. Over it: 429 with
Retry-After.
"""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request

from moderator import auth
from moderator import metrics
from moderator import ratelimit
from moderator import service
from moderator import storage
from moderator.coral import events
from moderator.coral import phase as coral_phase
from moderator.coral import signature
from moderator.errors import ApiError

bp = Blueprint("coral", __name__, url_prefix="/coral/v1/sites/<int:site_id>")


def _services():
    return current_app.extensions["moderator"]


def _signed_body(site_id: int, kind: str) -> bytes:
    """The raw body, once its X-Coral-Signature matches one of the site's `kind` secrets."""
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    site, keys = _services().sites.signing(site_id, kind)
    if not signature.verify(raw, request.headers.get(signature.HEADER), keys):
        # Failed signatures spend the sender's address budget, never the site's.
        ratelimit.spend(auth.address_rate_limit_key())
        raise ApiError(
            401,
            "X-Coral-Signature is missing or matches no signing secret of this site",
            headers={"WWW-Authenticate": 'Signature realm="coral"'},
        )
    g.site = site
    # One budget per site's Coral integration (phase and webhooks), counted like a key's.
    ratelimit.spend(f"coral:{site.id}")
    return raw


def _json(raw: bytes) -> object:
    if not raw.strip():
        raise ApiError(400, "request body is empty")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None


@bp.post("/phase")
def external_phase(site_id: int) -> Response:
    """Decide a comment Coral sends (NEW or EDIT) and answer in Coral's schema."""
    s = _services()
    raw = _signed_body(site_id, "coral_phase")
    checked = coral_phase.parse(_json(raw), s.config.max_text_bytes)
    result = service.moderate(
        s.engine, s.moderation, g.site, checked.comment, s.sites.webhook_events(g.site.id)
    )
    if result.fresh is not None:
        metrics.observe_decisions([result.fresh])
    body = coral_phase.response(result.decision, result.reasons, result.model)
    if body is None:
        return Response(status=204)
    return jsonify(body)


@bp.post("/webhook")
def webhook(site_id: int) -> Response:
    """Take a Coral webhook event; decisions in Coral's queue become human decisions."""
    raw = _signed_body(site_id, "coral_webhook")
    event = events.parse(_json(raw))
    if event is None:
        raise ApiError(400, "not a Coral event: id, type and data are required")
    with storage.transaction(_services().engine) as conn:
        outcome = events.handle(conn, g.site.id, event)
    current_app.logger.info("coral event %s %s: %s", event.id, event.type, outcome)
    return Response(status=204)
