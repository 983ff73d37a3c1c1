"""The audit trail: who changed what, when, with the values before and after."""

from __future__ import annotations

from sqlalchemy import Connection

from moderator.storage import now
from moderator.storage.tables import audit_log

#: The actor recorded for changes made from the `moderator` command line.
CLI_ACTOR = "cli"


def record(
    conn: Connection,
    actor: str,
    action: str,
    *,
    comment_id: str | None = None,
    site_id: int | None = None,
    note: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    subject: str | None = None,
) -> None:
    """Append one audit_log row, in the caller's transaction.

    `subject` names what else the row is about, as "author:<id>", "story:<id>" or
    "appeal:<id>" (our ids), so an author's or a story's page can show its history.
    """
    conn.execute(
        audit_log.insert().values(
            at=now(),
            actor=actor,
            action=action,
            comment_id=comment_id,
            site_id=site_id,
            note=note,
            before=before,
            after=after,
            subject=subject,
        )
    )


def entries(conn: Connection, *, site_id: int | None = None, limit: int = 100) -> list[dict]:
    """The newest audit rows (optionally for one site), newest first, as plain dicts."""
    query = audit_log.select().order_by(audit_log.c.id.desc()).limit(limit)
    if site_id is not None:
        query = query.where(audit_log.c.site_id == site_id)
    return [dict(row._mapping) for row in conn.execute(query)]
