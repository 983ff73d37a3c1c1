"""Usernames and passwords: validation, werkzeug (scrypt) hashing, creating an account."""

from __future__ import annotations

import re
import unicodedata

from werkzeug.security import generate_password_hash

from moderator.storage import audit
from moderator.storage import users as user_store

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

# A real hash to check against when the username doesn't exist, so a failed login takes
# as long for a missing user as for a wrong password.
DUMMY_HASH = generate_password_hash("not-a-password-" + "x" * 16)


class AccountError(ValueError):
    """A username or password that can't be used; the message says why."""


def validate_username(username: str) -> str:
    """The username, checked: 1-64 ASCII letters, digits and _.@- (no look-alike Unicode)."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise AccountError(
            "username must be 1-64 characters: ASCII letters, digits, and _ . @ - "
            "(starting with a letter or digit)"
        )
    return username


def validate_password(password: str) -> str:
    """The password, NFC-normalised and checked for length."""
    if not isinstance(password, str):
        raise AccountError("password must be text")
    password = unicodedata.normalize("NFC", password)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"password must be at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    """A werkzeug (scrypt) hash of a validated password."""
    return generate_password_hash(validate_password(password))


def normalised_attempt(password: str) -> str:
    """A password as typed at login, NFC-normalised and cut just past the longest allowed."""
    return unicodedata.normalize("NFC", password[: MAX_PASSWORD + 1])


def create_account(
    conn, username: str, password: str, *, admin: bool = False, actor: str = "cli"
) -> user_store.User:
    """Validate, hash and store a new account, and audit it; raises AccountError."""
    username = validate_username(username)
    role = "admin" if admin else "moderator"
    try:
        user = user_store.create_user(conn, username, hash_password(password), role)
    except user_store.UsernameTaken:
        raise AccountError(f"username {username!r} is already taken") from None
    audit.record(conn, actor, "user.create", after={"username": username, "role": role})
    return user


def change_password(
    conn, user: user_store.User, password: str, *, actor: str, action: str = "user.password_change"
) -> int:
    """Set a new password (validated, hashed), ending every session of the user; audited.

    Returns how many sessions were ended.
    """
    from moderator.storage import sessions as session_store

    hashed = hash_password(password)
    ended = session_store.count_sessions(conn, user.id)
    user_store.set_password_hash(conn, user.id, hashed)
    audit.record(
        conn,
        actor,
        action,
        after={"username": user.username, "sessions_ended": ended},
    )
    return ended
