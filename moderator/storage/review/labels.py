"""Human decisions as labels for `training export-labels`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import select

from moderator.storage import utc
from moderator.storage.tables import comments
from moderator.storage.tables import sites


@dataclass(frozen=True)
class HumanLabel:
    """One human decision, as export-labels needs it."""

    comment_id: str
    site_name: str
    text: str
    human_decision: str
    reason_code: str | None
    decided_by: str | None
    decided_at: dt.datetime
    language: str | None = None


def human_labels(
    conn: Connection, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[HumanLabel]:
    """Every human-decided comment decided in [since, until), oldest decision first."""
    query = (
        select(
            comments.c.id,
            sites.c.name,
            comments.c.text,
            comments.c.human_decision,
            comments.c.reason_code,
            comments.c.decided_by,
            comments.c.decided_at,
            comments.c.language,
        )
        .join(sites, sites.c.id == comments.c.site_id)
        .where(comments.c.human_decision.is_not(None))
        .order_by(comments.c.decided_at, comments.c.id)
    )
    if since is not None:
        query = query.where(comments.c.decided_at >= since)
    if until is not None:
        query = query.where(comments.c.decided_at < until)
    for row in conn.execute(query):
        yield HumanLabel(
            comment_id=row.id,
            site_name=row.name,
            text=row.text,
            human_decision=row.human_decision,
            reason_code=row.reason_code,
            decided_by=row.decided_by,
            decided_at=utc(row.decided_at),
            language=row.language,
        )
