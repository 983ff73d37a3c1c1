"""Reader reports: a site forwards "report this comment" from its readers.

One report per reporter per comment (the unique constraint settles concurrent repeats).
A report counts towards the comment's `open_reports` while the comment is allowed; at the
site's `report_threshold` the comment is in the Reported queue until a moderator decides
it, which closes its open reports. Counting never changes the comment's version, so a
moderator's open card stays decidable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import case
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from moderator.storage import isoformat
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import comments
from moderator.storage.tables import reports

#: Why a reader reports a comment (the API's `reason`).
REASONS = ("abuse", "spam", "off_topic", "harassment", "misinformation", "other")


@dataclass(frozen=True)
class Report:
    """One reader's report of one comment."""

    id: int
    comment_id: str
    reporter_id: str
    reason: str
    text: str | None
    created_at: dt.datetime

    def to_dict(self) -> dict:
        """The API's view of a report."""
        return {
            "id": self.id,
            "comment_id": self.comment_id,
            "reporter_id": self.reporter_id,
            "reason": self.reason,
            "text": self.text,
            "created_at": isoformat(self.created_at),
        }


def _report(row) -> Report:
    return Report(
        id=row.id,
        comment_id=row.comment_id,
        reporter_id=row.reporter_id,
        reason=row.reason,
        text=row.text,
        created_at=utc(row.created_at),
    )


def add_report(
    conn: Connection,
    site_id: int,
    comment_id: str,
    reporter_id: str,
    reason: str,
    text: str | None,
) -> tuple[Report, bool]:
    """Store a report and count it on the comment; (the report, True) when it is new.

    A reporter who already reported the comment gets their first report back and False.
    """
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}, got {reason!r}")
    try:
        with conn.begin_nested():
            report_id = conn.execute(
                reports.insert().values(
                    comment_id=comment_id,
                    site_id=site_id,
                    reporter_id=reporter_id,
                    reason=reason,
                    text=text,
                    created_at=now(),
                )
            ).inserted_primary_key[0]
    except exc.IntegrityError:
        existing = conn.execute(
            reports.select().where(
                reports.c.comment_id == comment_id, reports.c.reporter_id == reporter_id
            )
        ).first()
        if existing is None:  # not the unique constraint: let the caller see it
            raise
        return _report(existing), False
    conn.execute(
        update(comments)
        .where(comments.c.id == comment_id)
        .values(
            report_count=comments.c.report_count + 1,
            # Only an allowed comment needs a person because of reports: a held one is in
            # the queue already and a rejected one is not shown.
            open_reports=comments.c.open_reports + case((comments.c.status == "allow", 1), else_=0),
        )
    )
    row = conn.execute(reports.select().where(reports.c.id == report_id)).first()
    return _report(row), True


def reports_since(conn: Connection, site_id: int, reporter_id: str, since: dt.datetime) -> int:
    """How many reports this reporter made on the site since `since` (the rate limit)."""
    return conn.execute(
        select(func.count())
        .select_from(reports)
        .where(
            reports.c.site_id == site_id,
            reports.c.reporter_id == reporter_id,
            reports.c.created_at >= since,
        )
    ).scalar_one()


def oldest_since(
    conn: Connection, site_id: int, reporter_id: str, since: dt.datetime
) -> dt.datetime | None:
    """The reporter's oldest report on the site since `since`: when the window frees up."""
    return utc(
        conn.execute(
            select(func.min(reports.c.created_at)).where(
                reports.c.site_id == site_id,
                reports.c.reporter_id == reporter_id,
                reports.c.created_at >= since,
            )
        ).scalar()
    )


def reports_for(conn: Connection, comment_ids: Iterable[str]) -> dict[str, list[Report]]:
    """The reports on each of these comments, oldest first."""
    wanted = sorted(set(comment_ids))
    found: dict[str, list[Report]] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            reports.select()
            .where(reports.c.comment_id.in_(wanted[start : start + 500]))
            .order_by(reports.c.created_at, reports.c.id)
        )
        for row in rows:
            found.setdefault(row.comment_id, []).append(_report(row))
    return found
