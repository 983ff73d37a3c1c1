"""Server-side dashboard sessions behind Flask-Login.

A login creates a row in the `sessions` table keyed by the sha256 of a random token; the
signed session cookie carries the token as Flask-Login's user id. Every request looks the
row up, so a session ends for good, copied cookies included, when its row goes: at logout,
when the password changes or the account is disabled (storage.users deletes the rows in
the same transaction), when an admin logs the user out everywhere, after
`session_idle_minutes` without a request, or SESSION_MAX_AGE after login.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from flask import request
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import login_user

from moderator import storage
from moderator.storage import sessions as session_store
from moderator.storage import users as user_store

#: A session ends this long after login, however active it is.
SESSION_MAX_AGE = 12 * 60 * 60
#: A session's last-seen time is written at most this often (seconds).
TOUCH_EVERY = 60
#: Tokens are 43 characters; anything far from that is never looked up.
TOKEN_LENGTHS = range(20, 101)

login_manager = LoginManager()


class LoginUser(UserMixin):
    """The logged-in account, as Flask-Login sees it, with its session's token."""

    def __init__(self, user: user_store.User, token: str) -> None:
        self.user = user
        self.token = token
        self.username = user.username
        self.role = user.role
        self.is_admin = user.is_admin

    def get_id(self) -> str:
        return self.token


def token_hash(token: str) -> str:
    """What the sessions table stores for a cookie's token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(user: user_store.User) -> None:
    """Create a session for `user` and log this browser into it (stale sessions are purged)."""
    token = secrets.token_urlsafe(32)
    now = storage.now()
    idle = dt.timedelta(seconds=current_app.extensions["moderator.session_idle"])
    with storage.transaction(_engine()) as conn:
        session_store.end_stale_sessions(
            conn, now - dt.timedelta(seconds=SESSION_MAX_AGE), now - idle
        )
        session_store.create_session(conn, token_hash(token), user.id, now)
    login_user(LoginUser(user, token))


def end_session(conn, login: LoginUser) -> None:
    """End the session of this login (inside the caller's transaction)."""
    session_store.end_session(conn, token_hash(login.token))


@login_manager.user_loader
def _load_user(token: str) -> LoginUser | None:
    if not isinstance(token, str) or len(token) not in TOKEN_LENGTHS:
        return None
    hashed = token_hash(token)
    engine = _engine()
    with storage.reading(engine) as conn:
        found = session_store.get_session(conn, hashed)
        user = user_store.get_user(conn, found.user_id) if found else None
    if found is None or user is None or user.disabled:
        return None
    now = storage.now()
    idle = current_app.extensions["moderator.session_idle"]
    age = (now - found.created_at).total_seconds()
    unused = (now - found.seen_at).total_seconds()
    if age > SESSION_MAX_AGE or unused > idle:
        with storage.transaction(engine) as conn:
            session_store.end_session(conn, hashed)
        return None
    if unused > TOUCH_EVERY and not background_request():
        # A page refreshing its counts by itself is not the moderator being active.
        with storage.transaction(engine) as conn:
            session_store.touch_session(conn, hashed, now)
    return LoginUser(user, token)


def background_request() -> bool:
    """A request the dashboard's script makes by itself (the count refresh)."""
    return request.headers.get("X-Moderator-Background") == "1"


def _engine():
    return current_app.extensions["moderator.engine"]
