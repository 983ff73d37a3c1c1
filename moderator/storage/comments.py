"""Comments: each moderated comment, its automatic decision and its current status."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import fields

from sqlalchemy import Connection
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from moderator.storage import isoformat
from moderator.storage import utc
from moderator.storage.tables import comments


@dataclass(frozen=True)
class Comment:
    """One stored comment; `decision` is automatic, `status` is current (hold = awaiting review)."""

    id: str
    site_id: int
    external_id: str | None
    text: str
    author_id: str | None
    author_name: str | None
    url: str | None
    parent_text: str | None
    decision: str
    status: str
    scores: dict
    reasons: list
    model: str | None
    created_at: dt.datetime
    human_decision: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None
    reason_code: str | None = None
    version: int = 1
    story: int | None = None
    top_score: float | None = None
    report_count: int = 0
    open_reports: int = 0
    #: The identified language (ISO 639-1), None when undetermined or not identified.
    language: str | None = None
    #: The door it came in by: api, perspective, coral, suggestscore (None: api).
    door: str | None = None
    #: Ids another system gave it (Coral's story, site, tenant, parent, ...).
    context: dict | None = None

    def values(self) -> dict:
        """Column values for an insert."""
        return {name: getattr(self, name) for name in _COLUMNS}

    def to_dict(self) -> dict:
        """The API's view of the comment's current state (timestamps as ISO 8601 UTC)."""
        return {
            "id": self.id,
            "external_id": self.external_id,
            "text": self.text,
            "author": {"id": self.author_id, "name": self.author_name},
            "url": self.url,
            "decision": self.decision,
            "status": self.status,
            "reasons": self.reasons,
            "scores": self.scores,
            "model": self.model,
            "created_at": isoformat(self.created_at),
            "human_decision": self.human_decision,
            "decided_by": self.decided_by,
            "decided_at": isoformat(self.decided_at),
            "note": self.note,
            "reason_code": self.reason_code,
            "version": self.version,
            "language": self.language,
            "door": self.door or "api",
        }


_COLUMNS = [f.name for f in fields(Comment)]


def _comment(row) -> Comment:
    values = {name: getattr(row, name) for name in _COLUMNS}
    values["created_at"] = utc(values["created_at"])
    values["decided_at"] = utc(values["decided_at"])
    return Comment(**values)


def insert_comment(conn: Connection, comment: Comment) -> bool:
    """Insert unless the site already has a comment with this external_id; True if inserted.

    The unique (site_id, external_id) constraint settles concurrent retries of the same
    comment: the loser inserts nothing and reads the winner's row.
    """
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        # RETURNING, not rowcount: drivers may report -1 for INSERT ... ON CONFLICT.
        return conn.execute(_insert_statement(dialect), comment.values()).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(comments.insert().values(comment.values()))
    except exc.IntegrityError:
        return False
    return True


@functools.cache
def _insert_statement(dialect: str):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once (the row comes as parameters)."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return (
        insert(comments)
        .on_conflict_do_nothing(index_elements=["site_id", "external_id"])
        .returning(comments.c.id)
    )


def get_comment(conn: Connection, site_id: int, comment_id: str) -> Comment | None:
    """The site's comment with our id (another site's id is None, as if it didn't exist)."""
    row = conn.execute(
        comments.select().where(comments.c.id == comment_id, comments.c.site_id == site_id)
    ).first()
    return _comment(row) if row else None


def find_by_external_ids(
    conn: Connection, site_id: int, external_ids: Iterable[str]
) -> dict[str, Comment]:
    """The site's comments with these external ids, keyed by external id."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    found = {}
    # Chunked so a batch never exceeds a driver's bound-parameter limit.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            comments.select().where(
                comments.c.site_id == site_id, comments.c.external_id.in_(chunk)
            )
        )
        found.update({row.external_id: _comment(row) for row in rows})
    return found


def count_comments(conn: Connection, site_id: int | None = None) -> int:
    """How many comments are stored (for one site, or all)."""
    query = select(func.count()).select_from(comments)
    if site_id is not None:
        query = query.where(comments.c.site_id == site_id)
    return conn.execute(query).scalar_one()


def find_comment(conn: Connection, site_id: int, ref: str) -> Comment | None:
    """The site's comment with our id `ref`, else with the site's own id `ref`."""
    return get_comment(conn, site_id, ref) or find_by_external_ids(conn, site_id, [ref]).get(ref)


def unlinked_since(
    conn: Connection, site_id: int, door: str, since: dt.datetime, statuses: Iterable[str]
) -> list[Comment]:
    """The site's comments from `door` with no external id yet, stored since `since`."""
    rows = conn.execute(
        comments.select()
        .where(
            comments.c.site_id == site_id,
            comments.c.door == door,
            comments.c.external_id.is_(None),
            comments.c.created_at >= since,
            comments.c.status.in_(list(statuses)),
        )
        .order_by(comments.c.created_at, comments.c.id)
        .limit(1000)
    )
    return [_comment(r) for r in rows]


def set_external_id(conn: Connection, comment_id: str, external_id: str) -> bool:
    """Give a comment the other system's id, unless it has one or the id is taken."""
    row = conn.execute(select(comments.c.site_id).where(comments.c.id == comment_id)).first()
    if row is None or find_by_external_ids(conn, row.site_id, [external_id]):
        return False
    result = conn.execute(
        comments.update()
        .where(comments.c.id == comment_id, comments.c.external_id.is_(None))
        .values(external_id=external_id)
    )
    return result.rowcount == 1
