"""Dashboard sessions: one row per login, found by the sha256 of the cookie's token.

A session exists exactly as long as its row: logout deletes it, and changing a password or
disabling an account (storage.users) deletes all of that user's rows in the same
transaction, so no copied cookie outlives any of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from moderator.storage import utc
from moderator.storage.tables import sessions


@dataclass(frozen=True)
class Session:
    """One login: whose it is, when it started and when it was last used."""

    token_hash: str
    user_id: int
    created_at: dt.datetime
    seen_at: dt.datetime


def create_session(conn: Connection, token_hash: str, user_id: int, at: dt.datetime) -> None:
    """Record a new login."""
    conn.execute(
        insert(sessions).values(token_hash=token_hash, user_id=user_id, created_at=at, seen_at=at)
    )


def get_session(conn: Connection, token_hash: str) -> Session | None:
    """The session with this token hash, or None once it has ended."""
    row = conn.execute(select(sessions).where(sessions.c.token_hash == token_hash)).first()
    if row is None:
        return None
    return Session(row.token_hash, row.user_id, utc(row.created_at), utc(row.seen_at))


def touch_session(conn: Connection, token_hash: str, at: dt.datetime) -> None:
    """Note that the session was used at `at` (for the idle timeout)."""
    conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(seen_at=at))


def end_session(conn: Connection, token_hash: str) -> bool:
    """End one session; True when it still existed."""
    return conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash)).rowcount == 1


def end_user_sessions(conn: Connection, user_id: int) -> int:
    """End every session of one user; how many there were."""
    return conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount


def end_stale_sessions(
    conn: Connection, started_before: dt.datetime, idle_since: dt.datetime
) -> int:
    """Delete sessions past their absolute or idle limit; how many."""
    stale = or_(sessions.c.created_at < started_before, sessions.c.seen_at < idle_since)
    return conn.execute(delete(sessions).where(stale)).rowcount


def count_sessions(conn: Connection, user_id: int | None = None) -> int:
    """How many sessions exist (for one user, or all)."""
    query = select(func.count()).select_from(sessions)
    if user_id is not None:
        query = query.where(sessions.c.user_id == user_id)
    return conn.execute(query).scalar_one()
