"""The accounts blueprint and the hooks every dashboard blueprint shares.

Cookie flags, CSRF (Flask-WTF, checked on every state-changing dashboard request, never on
the key-authenticated JSON API), login required, admins only, session limits, security
headers, safe `next` targets and the dashboard's HTML error pages.
"""

from __future__ import annotations

import functools
import time
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_login import logout_user
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from moderator import storage
from moderator.accounts.sessions import SESSION_MAX_AGE
from moderator.accounts.sessions import background_request
from moderator.accounts.sessions import end_session
from moderator.accounts.sessions import login_manager
from moderator.accounts.throttle import LoginThrottle

csrf = CSRFProtect()
bp = Blueprint("accounts", __name__, url_prefix="/dashboard")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that
    carries no session cookie (every API request): a new, empty session, as Flask would give."""

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if not session and not session.modified:
            # What Flask does for an empty, untouched session (every API request), without
            # first reading the seven cookie settings it only needs to set or delete a cookie.
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask, config) -> None:
    """Sessions, cookie flags, CSRF and Flask-Login; registers /dashboard/login and friends."""
    if not app.secret_key:
        app.secret_key = config.resolved_secret_key()
    app.session_interface = CookieSessions()
    app.config.update(
        SESSION_COOKIE_NAME="moderator_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=config.session_idle_minutes * 60,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.session_cookie_secure,
        # CSRF is checked by the dashboard's blueprints (protect_forms), not app-wide, so
        # the key-authenticated JSON API is never asked for a form token.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_MAX_AGE,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see the dashboard."
    login_manager.session_protection = "strong"
    app.extensions["moderator.login_throttle"] = LoginThrottle(config.login_max_failures)
    app.extensions["moderator.session_idle"] = config.session_idle_minutes * 60
    app.register_blueprint(bp)


def protect_forms() -> None:
    """CSRF-check every state-changing request (blueprint before_request)."""
    if request.method not in SAFE_METHODS:
        csrf.protect()


def enforce_session():
    """Log out sessions past their idle or absolute limit (blueprint before_request).

    The sessions table enforces the same limits on the server; this catches them first so
    the person is told why they were logged out.
    """
    if not current_user.is_authenticated:
        return None
    now = time.time()
    idle = current_app.extensions["moderator.session_idle"]
    login_at = session.get("login_at", 0)
    seen_at = session.get("seen_at", 0)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        login_at = seen_at = 0
    if now - login_at > SESSION_MAX_AGE or now - seen_at > idle:
        with storage.transaction(current_app.extensions["moderator.engine"]) as conn:
            end_session(conn, current_user._get_current_object())
        logout_user()
        session.clear()
        flash("Your session expired. Please log in again.", "info")
        return redirect(url_for("accounts.login", next=current_path()))
    # A page refreshing its counts by itself is not the moderator being active.
    if now - seen_at > 30 and not background_request():
        session["seen_at"] = int(now)
    return None


def require_login():
    """Send anonymous visitors to the login page (blueprint before_request)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def security_headers(response):
    """No framing, no sniffing, no inline script, no caching of pages with comment text."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def admin_required(view):
    """403 for anyone but an admin."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403, description="This page is for admins only.")
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path inside the dashboard, else `default` (no open redirects)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or target.startswith("//"):
        return default
    if not parts.path.startswith("/dashboard") or any(ord(c) < 32 for c in target):
        return default
    return target


def current_path() -> str:
    """This request's path with its query string, for a `next` link back to it."""
    return request.full_path if request.query_string else request.path


def render_error(error):
    """The dashboard's HTML error pages (errors/<code>.html)."""
    if isinstance(error, storage.StorageUnavailable):
        # Render as nobody: loading the user would ask the unavailable database again.
        g._login_user = login_manager.anonymous_user()
        response = current_app.make_response((render_template("errors/503.html"), 503))
        response.headers["Retry-After"] = str(storage_retry_after())
        return response
    # Only HTTP errors carry a status; a database error's `code` is its SQLSTATE, not ours.
    code = (error.code or 500) if isinstance(error, HTTPException) else 500
    if code < 400:
        return error
    if code >= 500:
        current_app.logger.exception("dashboard error on %s %s", request.method, request.path)
        code = 500
    if isinstance(error, CSRFError):
        message = (
            "The form expired or did not come from this dashboard. Reload the page and try again."
        )
    else:
        message = getattr(error, "description", None) if code < 500 else None
    template = (
        f"errors/{code}.html" if code in (400, 403, 404, 405, 413, 429) else "errors/500.html"
    )
    response = current_app.make_response((render_template(template, message=message), code))
    if code == 429 and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def storage_retry_after() -> int:
    """The Retry-After of a 503 for an unavailable database."""
    from moderator.errors import STORAGE_RETRY_AFTER

    return STORAGE_RETRY_AFTER


bp.before_request(protect_forms)
bp.before_request(enforce_session)
bp.after_request(security_headers)
bp.register_error_handler(Exception, render_error)
