"""Authors: who wrote each comment, per site, with their history and the moderators' actions.

A site names its authors (`author.id` in the API); the first comment with a new id creates
the author's row, and later ones keep their name and last-seen time current. Moderators ban,
suspend until a date, always pre-moderate or warn an author, each with a reason, and can
undo each; every change is audited with the author as its subject.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from moderator.storage import audit
from moderator.storage import isoformat
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.author_history import AuthorHistory
from moderator.storage.author_history import RecentComment  # noqa: F401 (re-exported)
from moderator.storage.author_history import allowed_counts  # noqa: F401 (re-exported)
from moderator.storage.author_history import histories  # noqa: F401 (re-exported)
from moderator.storage.author_history import recent_comments  # noqa: F401 (re-exported)
from moderator.storage.tables import authors
from moderator.storage.tables import sites

#: What a moderator can do to an author; each `un...` undoes its pair.
ACTIONS = ("ban", "unban", "suspend", "unsuspend", "premoderate", "unpremoderate", "warn", "unwarn")
#: The longest suspension; longer is a ban.
MAX_SUSPENSION = dt.timedelta(days=3650)
#: The author's standing, most severe first.
STATUSES = ("banned", "suspended", "premoderated", "active")


class AuthorError(ValueError):
    """An author action that can't be done (already banned, a suspension in the past, ...)."""


@dataclass(frozen=True)
class Author:
    """An author on one site, and what moderators decided about them."""

    id: int
    site_id: int
    external_id: str
    name: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    banned_at: dt.datetime | None = None
    ban_reason: str | None = None
    suspended_until: dt.datetime | None = None
    suspension_reason: str | None = None
    premoderated_at: dt.datetime | None = None
    premoderation_reason: str | None = None
    warning: str | None = None
    warned_at: dt.datetime | None = None
    site_name: str | None = None

    def suspended(self, at: dt.datetime) -> bool:
        """True while a suspension lasts."""
        return self.suspended_until is not None and self.suspended_until > at

    def status(self, at: dt.datetime) -> str:
        """banned, suspended (until a date), premoderated or active."""
        if self.banned_at is not None:
            return "banned"
        if self.suspended(at):
            return "suspended"
        if self.premoderated_at is not None:
            return "premoderated"
        return "active"

    def rejects(self, at: dt.datetime) -> bool:
        """Their comments are rejected: banned, or suspended now."""
        return self.banned_at is not None or self.suspended(at)

    def standing(self) -> dict:
        """The action fields, JSON-ready, for the audit log's before/after."""
        return {
            "banned_at": isoformat(self.banned_at),
            "ban_reason": self.ban_reason,
            "suspended_until": isoformat(self.suspended_until),
            "suspension_reason": self.suspension_reason,
            "premoderated_at": isoformat(self.premoderated_at),
            "premoderation_reason": self.premoderation_reason,
            "warning": self.warning,
        }

    def to_dict(self, at: dt.datetime, history: AuthorHistory | None = None) -> dict:
        """The API's view: status, each action with its reason, and the history counts."""
        suspended = self.suspended(at)
        return {
            "id": self.external_id,
            "name": self.name,
            "status": self.status(at),
            "first_seen_at": isoformat(self.first_seen_at),
            "last_seen_at": isoformat(self.last_seen_at),
            "banned": self.banned_at is not None,
            "ban_reason": self.ban_reason,
            "suspended_until": isoformat(self.suspended_until) if suspended else None,
            "suspension_reason": self.suspension_reason if suspended else None,
            "premoderated": self.premoderated_at is not None,
            "premoderation_reason": self.premoderation_reason,
            "warning": self.warning,
            "warned_at": isoformat(self.warned_at),
            "comments": (history or AuthorHistory()).to_dict(),
        }


def _author(row) -> Author:
    return Author(
        id=row.id,
        site_id=row.site_id,
        external_id=row.external_id,
        name=row.name,
        first_seen_at=utc(row.first_seen_at),
        last_seen_at=utc(row.last_seen_at),
        banned_at=utc(row.banned_at),
        ban_reason=row.ban_reason,
        suspended_until=utc(row.suspended_until),
        suspension_reason=row.suspension_reason,
        premoderated_at=utc(row.premoderated_at),
        premoderation_reason=row.premoderation_reason,
        warning=row.warning,
        warned_at=utc(row.warned_at),
        site_name=getattr(row, "site_name", None),
    )


def _select():
    return select(authors, sites.c.name.label("site_name")).join(
        sites, sites.c.id == authors.c.site_id
    )


def touch_authors(
    conn: Connection, site_id: int, seen: Mapping[str, tuple[str | None, dt.datetime]]
) -> None:
    """Create or refresh the site's authors: external id -> (name, when seen).

    The name is the one most recently sent (kept when a comment comes without one).
    """
    rows = [
        {"site_id": site_id, "external_id": external_id, "name": name, "seen": at}
        for external_id, (name, at) in seen.items()
    ]
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        conn.execute(_upsert_statement(dialect), rows)
        return
    for row in rows:
        found = get_author(conn, site_id, row["external_id"])
        if found is None:
            conn.execute(
                authors.insert().values(
                    site_id=site_id,
                    external_id=row["external_id"],
                    name=row["name"],
                    first_seen_at=row["seen"],
                    last_seen_at=row["seen"],
                )
            )
        else:
            conn.execute(
                authors.update()
                .where(authors.c.id == found.id)
                .values(name=row["name"] or found.name, last_seen_at=row["seen"])
            )


@functools.cache
def _upsert_statement(dialect: str):
    """INSERT ... ON CONFLICT (site, id) DO UPDATE name, last_seen_at; built once per dialect
    (building `excluded` costs more than running the statement)."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(authors).values(
        site_id=bindparam("site_id"),
        external_id=bindparam("external_id"),
        name=bindparam("name"),
        first_seen_at=bindparam("seen"),
        last_seen_at=bindparam("seen"),
    )
    return statement.on_conflict_do_update(
        index_elements=["site_id", "external_id"],
        set_={
            "name": func.coalesce(statement.excluded.name, authors.c.name),
            "last_seen_at": statement.excluded.last_seen_at,
        },
    )


def get_author(conn: Connection, site_id: int, external_id: str) -> Author | None:
    """The site's author with this id (another site's author is None)."""
    row = conn.execute(
        _select().where(authors.c.site_id == site_id, authors.c.external_id == external_id)
    ).first()
    return _author(row) if row else None


def get_author_by_id(conn: Connection, author_id: int) -> Author | None:
    """An author by our id."""
    row = conn.execute(_select().where(authors.c.id == author_id)).first()
    return _author(row) if row else None


def find_authors(conn: Connection, site_id: int, external_ids: Iterable[str]) -> dict[str, Author]:
    """The site's authors with these ids, keyed by id (unknown ids are left out)."""
    wanted = sorted(set(external_ids))
    found: dict[str, Author] = {}
    for start in range(0, len(wanted), 500):
        # No join for the site's name: this runs before every decision that names an author.
        rows = conn.execute(
            select(authors).where(
                authors.c.site_id == site_id,
                authors.c.external_id.in_(wanted[start : start + 500]),
            )
        )
        found.update({row.external_id: _author(row) for row in rows})
    return found


def list_authors(
    conn: Connection,
    *,
    site_id: int | None = None,
    status: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Author], int]:
    """Authors, most recently seen first, filtered by site, standing and name or id."""
    at = now()
    conditions = []
    if site_id is not None:
        conditions.append(authors.c.site_id == site_id)
    if status == "banned":
        conditions.append(authors.c.banned_at.is_not(None))
    elif status == "suspended":
        conditions.append(authors.c.suspended_until > at)
    elif status == "premoderated":
        conditions.append(authors.c.premoderated_at.is_not(None))
    elif status == "warned":
        conditions.append(authors.c.warning.is_not(None))
    elif status is not None:
        raise ValueError(f"unknown author status {status!r}")
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                authors.c.name.ilike(pattern, escape="\\"),
                authors.c.external_id.ilike(pattern, escape="\\"),
            )
        )
    where = and_(true(), *conditions)
    total = conn.execute(select(func.count()).select_from(authors).where(where)).scalar_one()
    rows = conn.execute(
        _select()
        .where(where)
        .order_by(authors.c.last_seen_at.desc(), authors.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_author(r) for r in rows], total


def act(
    conn: Connection,
    author_id: int,
    action: str,
    *,
    actor: str,
    reason: str,
    until: dt.datetime | None = None,
) -> Author:
    """Apply one moderator action to an author and audit it; raises AuthorError.

    Every action needs a reason (for `warn` it is the warning itself). `suspend` needs
    `until`, in the future and at most MAX_SUSPENSION away.
    """
    if action not in ACTIONS:
        raise AuthorError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if not reason or not reason.strip():
        raise AuthorError("give a reason")
    before = get_author_by_id(conn, author_id)
    if before is None:
        raise AuthorError("no such author")
    at = now()
    values: dict = {}
    if action == "ban":
        if before.banned_at is not None:
            raise AuthorError("this author is already banned")
        values = {"banned_at": at, "ban_reason": reason}
    elif action == "unban":
        if before.banned_at is None:
            raise AuthorError("this author is not banned")
        values = {"banned_at": None, "ban_reason": None}
    elif action == "suspend":
        if until is None:
            raise AuthorError("a suspension needs an end date")
        until = utc(until)
        if until <= at:
            raise AuthorError("a suspension must end in the future")
        if until - at > MAX_SUSPENSION:
            raise AuthorError(f"a suspension lasts at most {MAX_SUSPENSION.days} days; ban instead")
        values = {"suspended_until": until, "suspension_reason": reason}
    elif action == "unsuspend":
        if not before.suspended(at):
            raise AuthorError("this author is not suspended")
        values = {"suspended_until": None, "suspension_reason": None}
    elif action == "premoderate":
        if before.premoderated_at is not None:
            raise AuthorError("this author is already pre-moderated")
        values = {"premoderated_at": at, "premoderation_reason": reason}
    elif action == "unpremoderate":
        if before.premoderated_at is None:
            raise AuthorError("this author is not pre-moderated")
        values = {"premoderated_at": None, "premoderation_reason": None}
    elif action == "warn":
        values = {"warning": reason, "warned_at": at}
    elif action == "unwarn":
        if before.warning is None:
            raise AuthorError("this author has no warning")
        values = {"warning": None, "warned_at": None}
    conn.execute(authors.update().where(authors.c.id == author_id).values(values))
    after = get_author_by_id(conn, author_id)
    audit.record(
        conn,
        actor,
        f"author.{action}",
        site_id=before.site_id,
        note=reason,
        before={"author": before.external_id, **before.standing()},
        after={"author": after.external_id, **after.standing()},
        subject=f"author:{author_id}",
    )
    return after
