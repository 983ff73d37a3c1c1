"""Moderator and admin accounts: the `users` table's queries.

Passwords arrive here already hashed (moderator.accounts hashes with werkzeug); this module
never sees a plain password. Changing a password or disabling an account ends the user's
sessions in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from moderator.storage import now
from moderator.storage import utc
from moderator.storage.sessions import end_user_sessions
from moderator.storage.tables import users

ROLES = ("admin", "moderator")


class UsernameTaken(Exception):
    """A user with this username already exists."""


@dataclass(frozen=True)
class User:
    """One account row."""

    id: int
    username: str
    password_hash: str
    role: str
    created_at: dt.datetime
    disabled: bool

    @property
    def is_admin(self) -> bool:
        """Admins manage sites, keys, thresholds and word lists; moderators only review."""
        return self.role == "admin"


def _user(row) -> User:
    return User(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        created_at=utc(row.created_at),
        disabled=bool(row.disabled),
    )


def create_user(conn: Connection, username: str, password_hash: str, role: str) -> User:
    """Insert a user; raises UsernameTaken when the name is in use."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    created = now()
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(users).values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    created_at=created,
                    disabled=False,
                )
            )
    except exc.IntegrityError:
        raise UsernameTaken(username) from None
    return User(result.inserted_primary_key[0], username, password_hash, role, created, False)


def get_user(conn: Connection, user_id: int) -> User | None:
    """The user with this id, or None."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def get_user_by_username(conn: Connection, username: str) -> User | None:
    """The user with this username (exact match), or None."""
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return _user(row) if row else None


def list_users(conn: Connection) -> list[User]:
    """Every account, by username."""
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def count_users(conn: Connection) -> int:
    """How many accounts exist."""
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> bool:
    """Replace a user's password hash and end all their sessions; False when no such user."""
    result = conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )
    end_user_sessions(conn, user_id)
    return result.rowcount == 1


def set_disabled(conn: Connection, user_id: int, disabled: bool) -> bool:
    """Disable (ending all their sessions) or re-enable an account; False when no such user."""
    result = conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))
    if disabled:
        end_user_sessions(conn, user_id)
    return result.rowcount == 1
