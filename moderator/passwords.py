"""Changing and resetting dashboard passwords.

A person changes their own password in the dashboard (with their current one); an admin
resets someone else's (dashboard) and anyone with the server resets any (`moderator users
reset-password`). Every change is audited without the password or its hash, and ends the
account's sessions (server-side sessions, moderator/accounts/sessions.py).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import Connection
from werkzeug.security import check_password_hash

from moderator.accounts import MAX_PASSWORD
from moderator.accounts import AccountError
from moderator.accounts import change_password
from moderator.accounts import validate_password
from moderator.storage import users as user_store


def set_password(
    conn: Connection,
    user: user_store.User,
    password: str,
    confirm: str,
    *,
    actor: str,
    action: str,
) -> user_store.User:
    """Give `user` a new password (typed twice); audits `action` by `actor`.

    Raises AccountError when the two differ, the password is too short or too long, or it
    is the current one.
    """
    if not isinstance(password, str) or not isinstance(confirm, str) or password != confirm:
        raise AccountError("the two passwords differ")
    validate_password(password)
    if check_password_hash(user.password_hash, unicodedata.normalize("NFC", password)):
        raise AccountError("the new password must differ from the current one")
    change_password(conn, user, password, actor=actor, action=action)
    return user_store.get_user(conn, user.id)


def current_password_ok(user: user_store.User, password: object) -> bool:
    """True when `password` is the user's current password (any other input: False)."""
    if not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD:
        return False
    return check_password_hash(user.password_hash, unicodedata.normalize("NFC", password))
