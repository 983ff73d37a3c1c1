"""Undo: a moderator takes back their own decision within a grace period.

A slipped key press must not become a training label. The comment returns to the queue
undecided (status hold, no human decision), so `export-labels` never sees the undone
decision; the audit log keeps both the decision and its undoing. A decision an author has
appealed is left to the appeal. The site already heard of the decision (comment.decided);
it hears again when the comment is decided anew.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection
from sqlalchemy import update

from moderator.storage import audit
from moderator.storage import now
from moderator.storage.review.decisions import DecisionOutcome
from moderator.storage.review.queue import get_comment
from moderator.storage.tables import comments


def can_undo(comment, actor: str, grace: dt.timedelta, at: dt.datetime) -> bool:
    """Whether `actor` may still undo the comment's decision (their own, within `grace`)."""
    return (
        comment.human_decision is not None
        and comment.decided_by == actor
        and comment.decided_at is not None
        and at - comment.decided_at <= grace
    )


def undo_decision(
    conn: Connection, comment_id: str, *, actor: str, grace: dt.timedelta
) -> DecisionOutcome | None:
    """Take back `actor`'s decision on the comment; None when there is no such comment.

    Problems: not_decided, not_yours, too_late, appealed, changed.
    """
    from moderator.storage import appeals

    before = get_comment(conn, comment_id)
    if before is None:
        return None
    if before.human_decision is None:
        return DecisionOutcome(before, ok=False, problem="not_decided")
    if before.decided_by != actor:
        return DecisionOutcome(before, ok=False, problem="not_yours")
    if not can_undo(before, actor, grace, now()):
        return DecisionOutcome(before, ok=False, problem="too_late")
    contested = appeals.appeals_of(conn, [comment_id]).get(comment_id, [])
    if any(a.decision_at == before.decided_at for a in contested):
        return DecisionOutcome(before, ok=False, problem="appealed")
    result = conn.execute(
        update(comments)
        .where(comments.c.id == comment_id, comments.c.version == before.version)
        .values(
            status="hold",
            human_decision=None,
            decided_by=None,
            decided_at=None,
            note=None,
            reason_code=None,
            version=comments.c.version + 1,
        )
    )
    if result.rowcount != 1:
        return DecisionOutcome(get_comment(conn, comment_id), ok=False, problem="changed")
    after = get_comment(conn, comment_id)
    audit.record(
        conn,
        actor,
        "comment.undo",
        comment_id=comment_id,
        site_id=before.site_id,
        before=before.snapshot(),
        after=after.snapshot(),
    )
    return DecisionOutcome(after, ok=True)
