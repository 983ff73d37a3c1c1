"""The audit log as the dashboard reads it: filtered pages, newest first.

The log is append-only: this package inserts (storage.audit) and reads it, nothing updates
or deletes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import true

from moderator.storage import utc
from moderator.storage.review.queue import start_of
from moderator.storage.tables import audit_log
from moderator.storage.tables import sites


@dataclass(frozen=True)
class AuditEntry:
    """One audit log row."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    comment_id: str | None
    site_id: int | None
    site_name: str | None
    note: str | None
    before: Mapping | None
    after: Mapping | None
    subject: str | None = None

    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for every field whose value differs."""
        before, after = self.before or {}, self.after or {}
        keys = list(before) + [k for k in after if k not in before]
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to show; None means any. `until` is inclusive."""

    actor: str | None = None
    action: str | None = None
    comment_id: str | None = None
    site_id: int | None = None
    subject: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def _audit_conditions(f: AuditFilter) -> list:
    conditions = []
    if f.actor:
        conditions.append(audit_log.c.actor == f.actor)
    if f.action:
        conditions.append(audit_log.c.action == f.action)
    if f.comment_id:
        conditions.append(audit_log.c.comment_id == f.comment_id)
    if f.site_id is not None:
        conditions.append(audit_log.c.site_id == f.site_id)
    if f.subject:
        conditions.append(audit_log.c.subject == f.subject)
    if f.since is not None:
        conditions.append(audit_log.c.at >= start_of(f.since))
    if f.until is not None:
        conditions.append(audit_log.c.at < start_of(f.until + dt.timedelta(days=1)))
    return conditions


def _audit_entry(row) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=utc(row.at),
        actor=row.actor,
        action=row.action,
        comment_id=row.comment_id,
        site_id=row.site_id,
        site_name=row.site_name,
        note=row.note,
        before=row.before if isinstance(row.before, dict) else None,
        after=row.after if isinstance(row.after, dict) else None,
        subject=row.subject,
    )


def audit_entries(
    conn: Connection, filters: AuditFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """One page of audit rows, newest first, and how many match in all."""
    conditions = _audit_conditions(filters)
    total = conn.execute(
        select(func.count()).select_from(audit_log).where(and_(true(), *conditions))
    ).scalar_one()
    rows = conn.execute(
        select(audit_log, sites.c.name.label("site_name"))
        .outerjoin(sites, sites.c.id == audit_log.c.site_id)
        .where(and_(true(), *conditions))
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_audit_entry(r) for r in rows], total


def audit_actions(conn: Connection) -> list[str]:
    """Every action name that appears in the log, for the filter menu."""
    return list(
        conn.execute(select(audit_log.c.action).distinct().order_by(audit_log.c.action)).scalars()
    )
