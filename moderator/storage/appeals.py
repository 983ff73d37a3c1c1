"""Appeals: an author contests the rejection of their comment (DSA Art. 20), once per decision.

An appeal names the decision it contests by when it was made (`decision_at`) and who made
it (`decided_by`, NULL for the automatic decision). A moderator other than that person
upholds or reverses it with a note. Reversing approves the comment (a human decision, so
a label for training); upholding an automatic rejection records a person's rejection.
Both are audited, with the appeal as the subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update

from moderator.storage import audit
from moderator.storage import isoformat
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.review.decisions import announce_decision
from moderator.storage.review.queue import ReviewComment
from moderator.storage.review.queue import comment_from_row
from moderator.storage.review.queue import comment_select
from moderator.storage.review.queue import get_comment
from moderator.storage.tables import appeals
from moderator.storage.tables import comments

STATUSES = ("open", "upheld", "reversed")
OUTCOMES = {"uphold": "upheld", "reverse": "reversed"}


class AlreadyAppealed(Exception):
    """This decision has been appealed already (a concurrent request won)."""


@dataclass(frozen=True)
class Appeal:
    """One appeal and, once resolved, its outcome."""

    id: int
    comment_id: str
    site_id: int
    decision_at: dt.datetime
    decided_by: str | None
    text: str
    created_at: dt.datetime
    status: str
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = None
    resolution_note: str | None = None

    def to_dict(self) -> dict:
        """The API's view of an appeal."""
        return {
            "id": self.id,
            "status": self.status,
            "text": self.text,
            "created_at": isoformat(self.created_at),
            "decision_at": isoformat(self.decision_at),
            "resolved_at": isoformat(self.resolved_at),
            "resolution_note": self.resolution_note,
        }


@dataclass(frozen=True)
class AppealItem:
    """An appeal with the comment it is about, as the Appeals queue lists it."""

    appeal: Appeal
    comment: ReviewComment


@dataclass(frozen=True)
class Resolution:
    """What happened to a resolution: ok, or the problem ("resolved", "same_moderator",
    "decision_changed") with the appeal and comment as they are now."""

    appeal: Appeal
    comment: ReviewComment
    ok: bool
    problem: str | None = None


def _appeal(row) -> Appeal:
    return Appeal(
        id=row.id,
        comment_id=row.comment_id,
        site_id=row.site_id,
        decision_at=utc(row.decision_at),
        decided_by=row.decided_by,
        text=row.text,
        created_at=utc(row.created_at),
        status=row.status,
        resolved_by=row.resolved_by,
        resolved_at=utc(row.resolved_at),
        resolution_note=row.resolution_note,
    )


def appeals_of(conn: Connection, comment_ids: Iterable[str]) -> dict[str, list[Appeal]]:
    """Every appeal of each of these comments, oldest first."""
    wanted = sorted(set(comment_ids))
    found: dict[str, list[Appeal]] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            appeals.select()
            .where(appeals.c.comment_id.in_(wanted[start : start + 500]))
            .order_by(appeals.c.created_at, appeals.c.id)
        )
        for row in rows:
            found.setdefault(row.comment_id, []).append(_appeal(row))
    return found


def get_appeal(conn: Connection, appeal_id: int) -> Appeal | None:
    """An appeal by id."""
    row = conn.execute(appeals.select().where(appeals.c.id == appeal_id)).first()
    return _appeal(row) if row else None


def open_appeal(
    conn: Connection, comment: ReviewComment, text: str, at: dt.datetime | None = None
) -> Appeal:
    """Store an appeal of the comment's standing decision; AlreadyAppealed if one exists.

    The caller checks that the decision may be appealed (moderator.statements); the unique
    (comment, decision_at) constraint settles two concurrent appeals of the same decision.
    """
    at = at or now()
    try:
        with conn.begin_nested():
            appeal_id = conn.execute(
                appeals.insert().values(
                    comment_id=comment.id,
                    site_id=comment.site_id,
                    decision_at=comment.decision_at,
                    decided_by=comment.decided_by if comment.human_decision else None,
                    text=text,
                    created_at=at,
                    status="open",
                )
            ).inserted_primary_key[0]
    except exc.IntegrityError:
        raise AlreadyAppealed(comment.id) from None
    appeal = get_appeal(conn, appeal_id)
    audit.record(
        conn,
        "api",
        "appeal.open",
        comment_id=comment.id,
        site_id=comment.site_id,
        after={"appeal": appeal_id, "decision_at": isoformat(appeal.decision_at)},
        subject=f"appeal:{appeal_id}",
    )
    return appeal


def list_appeals(
    conn: Connection,
    *,
    status: str | None = "open",
    site_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AppealItem], int]:
    """Appeals with their comments: open ones oldest first, resolved ones newest first."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    conditions = []
    if status is not None:
        conditions.append(appeals.c.status == status)
    if site_id is not None:
        conditions.append(appeals.c.site_id == site_id)
    where = and_(true(), *conditions)
    total = conn.execute(select(func.count()).select_from(appeals).where(where)).scalar_one()
    order = (
        (appeals.c.created_at.asc(), appeals.c.id)
        if status == "open"
        else (appeals.c.created_at.desc(), appeals.c.id.desc())
    )
    rows = conn.execute(
        appeals.select().where(where).order_by(*order).limit(limit).offset(offset)
    ).all()
    found = {
        row.id: comment_from_row(row)
        for row in conn.execute(
            comment_select().where(comments.c.id.in_({r.comment_id for r in rows}))
        )
    }
    return [AppealItem(_appeal(r), found[r.comment_id]) for r in rows], total


def count_open(conn: Connection) -> int:
    """Appeals waiting for a moderator."""
    return conn.execute(
        select(func.count()).select_from(appeals).where(appeals.c.status == "open")
    ).scalar_one()


def resolve_appeal(
    conn: Connection,
    appeal_id: int,
    outcome: str,
    *,
    actor: str,
    note: str,
    reason_code: str | None = None,
) -> Resolution | None:
    """Uphold or reverse an open appeal; None when there is no such appeal.

    Refused ("same_moderator") when `actor` made the appealed decision, ("resolved") when
    the appeal was resolved already, and ("decision_changed") when the comment no longer
    stands rejected by the appealed decision. The comment's UPDATE is conditional on its
    version and the appeal's on its status, so two moderators can't both resolve it.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be uphold or reverse, got {outcome!r}")
    appeal = get_appeal(conn, appeal_id)
    if appeal is None:
        return None
    comment = get_comment(conn, appeal.comment_id)
    if appeal.status != "open":
        return Resolution(appeal, comment, ok=False, problem="resolved")
    if appeal.decided_by is not None and appeal.decided_by == actor:
        return Resolution(appeal, comment, ok=False, problem="same_moderator")
    if comment.status != "reject" or comment.decision_at != appeal.decision_at:
        return Resolution(appeal, comment, ok=False, problem="decision_changed")
    at = now()
    claimed = conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id, appeals.c.status == "open")
        .values(status=OUTCOMES[outcome], resolved_by=actor, resolved_at=at, resolution_note=note)
    )
    if claimed.rowcount != 1:
        return Resolution(get_appeal(conn, appeal_id), comment, ok=False, problem="resolved")
    values = None
    if outcome == "reverse":
        values = {
            "status": "allow",
            "human_decision": "approve",
            "decided_by": actor,
            "decided_at": at,
            "note": note,
            "reason_code": None,
            "open_reports": 0,
        }
    elif comment.human_decision is None:
        # A person now stands behind the automatic rejection: a label like any other.
        values = {
            "human_decision": "reject",
            "decided_by": actor,
            "decided_at": at,
            "note": note,
            "reason_code": reason_code or comment.reason_code,
        }
    if values is not None:
        changed = conn.execute(
            update(comments)
            .where(comments.c.id == comment.id, comments.c.version == comment.version)
            .values(**values, version=comments.c.version + 1)
        )
        if changed.rowcount != 1:
            # The comment changed under us; undo the claim with the caller's rollback.
            raise DecisionRace(comment.id)
    after = get_comment(conn, comment.id)
    if values is not None:
        announce_decision(conn, after)
    audit.record(
        conn,
        actor,
        f"appeal.{outcome}",
        comment_id=comment.id,
        site_id=comment.site_id,
        note=note,
        before={**comment.snapshot(), "appeal": "open"},
        after={**after.snapshot(), "appeal": OUTCOMES[outcome]},
        subject=f"appeal:{appeal_id}",
    )
    return Resolution(get_appeal(conn, appeal_id), after, ok=True)


class DecisionRace(Exception):
    """The comment changed between reading it and resolving its appeal; retry."""


def close_by_decision(
    conn: Connection, before: ReviewComment, decision: str, actor: str, note: str | None
) -> None:
    """A person decided a comment whose automatic rejection is under appeal: that decision
    resolves the appeal (approve reverses it, reject upholds it)."""
    outcome = "reversed" if decision == "approve" else "upheld"
    conn.execute(
        update(appeals)
        .where(
            appeals.c.comment_id == before.id,
            appeals.c.decision_at == before.decision_at,
            appeals.c.status == "open",
        )
        .values(status=outcome, resolved_by=actor, resolved_at=now(), resolution_note=note)
    )
