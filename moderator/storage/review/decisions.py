"""Human decisions: one conditional UPDATE plus one audit row, in the caller's transaction.

The UPDATE carries its own conditions (`version = v` and "still reviewable"), so when two
moderators decide the same comment, exactly one UPDATE matches and the other sees the
comment as already decided or changed, whatever the isolation level.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import update

from moderator.policy import CATEGORIES
from moderator.storage import audit
from moderator.storage import now
from moderator.storage import outbox
from moderator.storage.review.queue import ReviewComment
from moderator.storage.review.queue import get_comment
from moderator.storage.tables import comments

#: What a human decision sets the comment's current status to.
STATUS_AFTER = {"approve": "allow", "reject": "reject"}

#: What a moderator may give as the reason for a rejection: the policy categories, then these.
REASON_CODES = (*(str(c) for c in CATEGORIES), "spam", "off-topic", "other")


@dataclass(frozen=True)
class DecisionOutcome:
    """What happened to one decision: `ok`, or the problem and the comment as it now is."""

    comment: ReviewComment
    ok: bool
    problem: str | None = None  # "already_decided" or "changed"


def reviewable_condition():
    """SQL for ReviewComment.reviewable: undecided, or allowed and reported since."""
    return or_(
        comments.c.human_decision.is_(None),
        and_(comments.c.status == "allow", comments.c.open_reports > 0),
    )


def decide_comment(
    conn: Connection,
    comment_id: str,
    *,
    decision: str,
    actor: str,
    note: str | None = None,
    reason_code: str | None = None,
    expected_version: int | None = None,
) -> DecisionOutcome | None:
    """Record a person's approve/reject and its audit row; None when there is no such comment.

    A comment can be decided while nobody has decided it, or when readers reported it after
    it was allowed (the Reported queue re-reviews it); a decision closes its open reports.
    With `expected_version` only the version the moderator was looking at can be decided.
    """
    if decision not in STATUS_AFTER:
        raise ValueError(f"decision must be approve or reject, got {decision!r}")
    before = get_comment(conn, comment_id)
    if before is None:
        return None
    if not before.reviewable:
        return DecisionOutcome(before, ok=False, problem="already_decided")
    if expected_version is not None and expected_version != before.version:
        return DecisionOutcome(before, ok=False, problem="changed")
    values = {
        "status": STATUS_AFTER[decision],
        "human_decision": decision,
        "decided_by": actor,
        "decided_at": now(),
        "note": note or None,
        "reason_code": reason_code or None,
        "open_reports": 0,
    }
    result = conn.execute(
        update(comments)
        .where(
            comments.c.id == comment_id,
            reviewable_condition(),
            comments.c.version == before.version,
        )
        .values(**values, version=comments.c.version + 1)
    )
    if result.rowcount != 1:
        # Another request won between our read and our write.
        current = get_comment(conn, comment_id)
        problem = "changed" if current.reviewable else "already_decided"
        return DecisionOutcome(current, ok=False, problem=problem)
    after = get_comment(conn, comment_id)
    if before.status == "reject":
        # An automatic rejection under appeal: this person's decision answers the appeal.
        from moderator.storage import appeals

        appeals.close_by_decision(conn, before, decision, actor, note)
    # After the appeal is closed: the statement's appeal window counts it.
    announce_decision(conn, after)
    audit.record(
        conn,
        actor,
        f"comment.{decision}",
        comment_id=comment_id,
        site_id=before.site_id,
        note=note or None,
        before={**before.snapshot(), "open_reports": before.open_reports},
        after={**after.snapshot(), "open_reports": after.open_reports},
    )
    return DecisionOutcome(after, ok=True)


def announce_decision(conn: Connection, comment: ReviewComment) -> None:
    """Queue the site's comment.decided webhooks for a person's decision, in its transaction
    (the site hears of it exactly when it is recorded); a rejection carries its statement,
    as GET /api/v1/comments/<id> gives it (an appeal it answered closes the window)."""
    from moderator.desk import statements
    from moderator.storage import appeals

    data = outbox.human_decision_data(comment)
    if comment.status == "reject":
        history = appeals.appeals_of(conn, [comment.id]).get(comment.id, [])
        data["statement"] = statements.current(comment, comment.appeal_days, history, now())
    outbox.enqueue(conn, comment.site_id, "comment.decided", comment.id, data, note=comment.note)
