"""Moderator accounts: login, logout, server-side sessions, login throttling, roles, CSRF.

Passwords are hashed with werkzeug (scrypt). Each login is a row in the `sessions` table
whose random token the signed, HttpOnly, SameSite=Lax cookie carries (Secure when
MODERATOR_SESSION_COOKIE_SECURE is on); a session ends when its row goes: at logout, when
the password changes, when the account is disabled, when the user or an admin logs them
out everywhere, after `session_idle_minutes` without a request, or SESSION_MAX_AGE after
login. A copied cookie dies with its row. Every POST in the dashboard passes Flask-WTF's
CSRF check; the JSON API, which authenticates with keys, is not affected.

`passwords` validates and hashes, `throttle` counts failed logins, `sessions` keeps the
server-side sessions behind Flask-Login, `web` holds the blueprint and the hooks the
dashboard shares, `views` the pages.
"""

from __future__ import annotations

# The pages attach themselves to `bp` when imported.
from moderator.accounts import views  # noqa: E402, F401, I001
from moderator.accounts.passwords import MAX_PASSWORD
from moderator.accounts.passwords import MIN_PASSWORD
from moderator.accounts.passwords import USERNAME_RE
from moderator.accounts.passwords import AccountError
from moderator.accounts.passwords import change_password
from moderator.accounts.passwords import create_account
from moderator.accounts.passwords import hash_password
from moderator.accounts.passwords import validate_password
from moderator.accounts.passwords import validate_username
from moderator.accounts.sessions import SESSION_MAX_AGE
from moderator.accounts.sessions import LoginUser
from moderator.accounts.sessions import login_manager
from moderator.accounts.throttle import ADDRESS_FACTOR
from moderator.accounts.throttle import LOGIN_WINDOW
from moderator.accounts.throttle import LoginThrottle
from moderator.accounts.web import admin_required
from moderator.accounts.web import bp
from moderator.accounts.web import csrf
from moderator.accounts.web import enforce_session
from moderator.accounts.web import init_app
from moderator.accounts.web import protect_forms
from moderator.accounts.web import render_error
from moderator.accounts.web import require_login
from moderator.accounts.web import safe_next
from moderator.accounts.web import security_headers

__all__ = [
    "ADDRESS_FACTOR",
    "LOGIN_WINDOW",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "SESSION_MAX_AGE",
    "USERNAME_RE",
    "AccountError",
    "LoginThrottle",
    "LoginUser",
    "admin_required",
    "bp",
    "change_password",
    "create_account",
    "csrf",
    "enforce_session",
    "hash_password",
    "init_app",
    "login_manager",
    "protect_forms",
    "render_error",
    "require_login",
    "safe_next",
    "security_headers",
    "validate_password",
    "validate_username",
]
