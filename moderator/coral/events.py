"""Coral's webhooks: decisions made in Coral's queue become human decisions (labels) here.

Coral 9.11.x sends signed webhooks (server/src/core/server/queue/tasks/webhook/processor.ts;
docs/docs/webhooks.md) of the shape `{"id", "type", "data", "createdAt", "tenantID",
"tenantDomain"}`. Two event types carry a moderation decision, and only the comment's id:

- COMMENT_ENTERED_MODERATION_QUEUE `{"queue", "commentID", "status", "storyID", "siteID"}`:
  a comment our external phase withheld (status SYSTEM_WITHHELD) enters Coral's pending
  queue. The phase request carries no comment id (Coral hasn't created the comment yet), so
  the comment is linked by elimination: the one comment we held for that story in the last
  LINK_WINDOW that has no Coral id yet. When there are several, none is linked (guessing
  would put a moderator's decision on the wrong text).
- COMMENT_LEFT_MODERATION_QUEUE `{"queue", "commentID", "status", ...}` with status
  APPROVED or REJECTED: a moderator decided it. The linked comment gets that human decision
  (decided_by `coral`), which `python -m training export-labels` exports.

Any other event is acknowledged and ignored, so Coral never counts it as a failed delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Connection

from moderator.storage import audit
from moderator.storage import comments as comments_store
from moderator.storage import now
from moderator.storage import review

log = logging.getLogger(__name__)

ENTERED = "COMMENT_ENTERED_MODERATION_QUEUE"
LEFT = "COMMENT_LEFT_MODERATION_QUEUE"
#: How far back a comment we held can be linked to the Coral comment entering the queue.
LINK_WINDOW = dt.timedelta(minutes=10)
#: Coral's status after a moderator's decision -> ours.
DECISIONS = {"APPROVED": "approve", "REJECTED": "reject"}
#: Who decisions from Coral are recorded as.
ACTOR = "coral"


@dataclass(frozen=True)
class Event:
    """A checked Coral webhook event."""

    id: str
    type: str
    data: dict


def parse(body: object) -> Event | None:
    """The event, or None when it isn't one (the view answers 400)."""
    if not isinstance(body, dict):
        return None
    event_id, event_type, data = body.get("id"), body.get("type"), body.get("data")
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        return None
    if not isinstance(data, dict):
        return None
    return Event(event_id[:100], event_type[:100], data)


def handle(conn: Connection, site_id: int, event: Event) -> str:
    """Apply one event in the caller's transaction; a word on what was done, for the log."""
    comment_id = event.data.get("commentID")
    if event.type not in (ENTERED, LEFT) or not isinstance(comment_id, str) or not comment_id:
        return "ignored"
    comment_id = comment_id[:255]
    if event.type == ENTERED:
        return _link(conn, site_id, comment_id, event.data)
    return _decide(conn, site_id, comment_id, event.data)


def _link(conn: Connection, site_id: int, coral_id: str, data: dict) -> str:
    if data.get("status") != "SYSTEM_WITHHELD":
        return "ignored: not withheld by a moderation phase"
    if comments_store.find_by_external_ids(conn, site_id, [coral_id]):
        return "already linked"
    story_id = data.get("storyID")
    candidates = [
        c
        for c in comments_store.unlinked_since(
            conn, site_id, "coral", now() - LINK_WINDOW, ["hold"]
        )
        if (c.context or {}).get("story_id") == story_id
        and (c.context or {}).get("action") == "NEW"
    ]
    if len(candidates) != 1:
        audit.record(
            conn,
            ACTOR,
            "coral.link.skipped",
            site_id=site_id,
            after={"coral_comment_id": coral_id, "candidates": len(candidates)},
        )
        return f"not linked: {len(candidates)} candidates"
    comments_store.set_external_id(conn, candidates[0].id, coral_id)
    audit.record(
        conn,
        ACTOR,
        "coral.link",
        comment_id=candidates[0].id,
        site_id=site_id,
        after={"external_id": coral_id},
    )
    return f"linked to {candidates[0].id}"


def _decide(conn: Connection, site_id: int, coral_id: str, data: dict) -> str:
    decision = DECISIONS.get(data.get("status"))
    if decision is None:
        return "ignored: no decision"
    found = comments_store.find_by_external_ids(conn, site_id, [coral_id]).get(coral_id)
    if found is None:
        return "ignored: not a comment we know"
    outcome = review.decide_comment(conn, found.id, decision=decision, actor=ACTOR)
    if outcome is None or not outcome.ok:
        return "ignored: already decided"
    return f"recorded {decision}"
