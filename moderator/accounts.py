"""Moderator accounts: login, logout, session expiry, login throttling, roles, CSRF.

Passwords are hashed with werkzeug (scrypt). Sessions are Flask's signed cookies, HttpOnly
and SameSite=Lax, Secure when MODERATOR_SESSION_COOKIE_SECURE is on; a session ends after
`session_idle_minutes` without a request or SESSION_MAX_AGE after login, whichever comes
first, and when the user's password changes or the account is disabled (the session's
user id carries a fingerprint of the password hash). Every POST in the dashboard passes
Flask-WTF's CSRF check; the JSON API, which authenticates with keys, is not affected.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
import unicodedata
from collections import deque
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from moderator import storage
from moderator.storage import audit
from moderator.storage import users as user_store

#: A session ends this long after login, however active it is.
SESSION_MAX_AGE = 12 * 60 * 60
#: The window in which failed logins are counted.
LOGIN_WINDOW = 15 * 60
#: One client address may fail this many times more than one username before it is stopped.
ADDRESS_FACTOR = 4

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

login_manager = LoginManager()
csrf = CSRFProtect()
bp = Blueprint("accounts", __name__, url_prefix="/dashboard")

# A real hash to check against when the username doesn't exist, so a failed login takes
# as long for a missing user as for a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password-" + "x" * 16)


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


class LoginUser(UserMixin):
    """The logged-in account, as Flask-Login sees it."""

    def __init__(self, user: user_store.User) -> None:
        self.user = user
        self.username = user.username
        self.role = user.role
        self.is_admin = user.is_admin

    def get_id(self) -> str:
        return f"{self.user.id}.{_fingerprint(self.user.password_hash)}"


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load_user(session_id: str) -> LoginUser | None:
    user_id, _, fingerprint = session_id.partition(".")
    if not user_id.isdigit():
        return None
    with storage.reading(_engine()) as conn:
        user = user_store.get_user(conn, int(user_id))
    if user is None or user.disabled or fingerprint != _fingerprint(user.password_hash):
        return None
    return LoginUser(user)


def _engine():
    return current_app.extensions["moderator.engine"]


class LoginThrottle:
    """Failed logins per username and per client address in a sliding window.

    Counters live in this process: with several workers each has its own, so the real
    limit is max_failures x workers. That is still a hard cap on password guessing.
    """

    def __init__(self, max_failures: int, window: float = LOGIN_WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until this username and address may try again; 0 when they may now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key, limit in self._limits(username, address):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.window - now)
        return max(1, int(wait) + 1) if wait > 0 else 0

    def fail(self, username: str, address: str) -> None:
        """Count one failed login for this username and address."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                # Bound memory under a spray of random usernames: forget expired keys.
                for key in list(self._failures):
                    self._recent(key, now)
            for key, _ in self._limits(username, address):
                self._failures.setdefault(key, deque()).append(now)

    def succeed(self, username: str) -> None:
        """A correct password clears the username's failures (not the address's)."""
        with self._lock:
            self._failures.pop("user:" + username.casefold(), None)

    def _limits(self, username: str, address: str):
        yield "user:" + username.casefold()[:200], self.max_failures
        yield "addr:" + address, self.max_failures * ADDRESS_FACTOR


def init_app(app: Flask, config) -> None:
    """Sessions, cookie flags, CSRF and Flask-Login; registers /dashboard/login."""
    if not app.secret_key:
        app.secret_key = config.resolved_secret_key()
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


# -- hooks the dashboard's blueprints share -------------------------------------------------------

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def protect_forms() -> None:
    """CSRF-check every state-changing request (blueprint before_request)."""
    if request.method not in SAFE_METHODS:
        csrf.protect()


def enforce_session():
    """Log out sessions past their idle or absolute limit (blueprint before_request)."""
    if not current_user.is_authenticated:
        return None
    now = time.time()
    idle = current_app.extensions["moderator.session_idle"]
    login_at = session.get("login_at", 0)
    seen_at = session.get("seen_at", 0)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        login_at = seen_at = 0
    if now - login_at > SESSION_MAX_AGE or now - seen_at > idle:
        logout_user()
        session.clear()
        flash("Your session expired. Please log in again.", "info")
        return redirect(url_for("accounts.login", next=_current_path()))
    # A page refreshing its counts by itself is not the moderator being active.
    if now - seen_at > 30 and not background_request():
        session["seen_at"] = int(now)
    return None


def background_request() -> bool:
    """A request the dashboard's script makes by itself (the count refresh)."""
    return request.headers.get("X-Moderator-Background") == "1"


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


def _current_path() -> str:
    return request.full_path if request.query_string else request.path


def render_error(error):
    """The dashboard's HTML error pages (errors/<code>.html)."""
    if isinstance(error, storage.StorageUnavailable):
        response = current_app.make_response((render_template("errors/503.html"), 503))
        response.headers["Retry-After"] = "5"
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
    template = f"errors/{code}.html" if code in (400, 403, 404, 405, 429) else "errors/500.html"
    response = current_app.make_response((render_template(template, message=message), code))
    if code == 429 and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


bp.before_request(protect_forms)
bp.before_request(enforce_session)
bp.after_request(security_headers)
bp.register_error_handler(Exception, render_error)


# -- views ----------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a correct password starts a fresh session."""
    default = url_for("dashboard.queue")
    target = safe_next(request.values.get("next"), default)
    if current_user.is_authenticated:
        return redirect(target)
    if request.method == "GET":
        return render_template("dashboard/login.html", next=target, error=None)

    username = request.form.get("username", "")
    password = request.form.get("password", "")
    throttle: LoginThrottle = current_app.extensions["moderator.login_throttle"]
    address = request.remote_addr or "unknown"
    wait = throttle.retry_after(username, address)
    if wait:
        response = current_app.make_response(
            (
                render_template(
                    "dashboard/login.html",
                    next=target,
                    error=f"Too many failed logins. Try again in {wait} seconds.",
                    username=username[:64],
                ),
                429,
            )
        )
        response.headers["Retry-After"] = str(wait)
        return response

    user = None
    if USERNAME_RE.fullmatch(username) and 0 < len(password) <= MAX_PASSWORD:
        with storage.reading(_engine()) as conn:
            user = user_store.get_user_by_username(conn, username)
    password = unicodedata.normalize("NFC", password[: MAX_PASSWORD + 1])
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or user.disabled or not ok:
        throttle.fail(username, address)
        with storage.transaction(_engine()) as conn:
            # Only a well-formed name is recorded: the log never stores arbitrary bytes.
            actor = username if USERNAME_RE.fullmatch(username) else "(invalid username)"
            audit.record(conn, actor, "user.login_failed")
        return render_template(
            "dashboard/login.html",
            next=target,
            error="Wrong username or password.",
            username=username[:64],
        ), 401

    throttle.succeed(username)
    # A fresh session on login: nothing an attacker planted before it (fixation) survives,
    # and CSRF tokens issued to the anonymous session stop working.
    session.clear()
    login_user(LoginUser(user))
    session.permanent = True
    session["login_at"] = session["seen_at"] = int(time.time())
    with storage.transaction(_engine()) as conn:
        audit.record(conn, user.username, "user.login")
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session (POST only, with CSRF, so a link can't log anyone out)."""
    if current_user.is_authenticated:
        with storage.transaction(_engine()) as conn:
            audit.record(conn, current_user.username, "user.logout")
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    """Admins: list accounts and create one."""
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        confirm = request.form.get("confirm", "")
        try:
            if password != confirm:
                raise AccountError("the two passwords differ")
            with storage.transaction(_engine()) as conn:
                user = create_account(
                    conn,
                    username,
                    password,
                    admin=request.form.get("role") == "admin",
                    actor=current_user.username,
                )
        except AccountError as problem:
            error, status = str(problem), 400
        else:
            flash(f"Created {user.role} {user.username}.", "success")
            return redirect(url_for("accounts.users"))
    with storage.reading(_engine()) as conn:
        accounts = user_store.list_users(conn)
    return render_template("dashboard/users.html", accounts=accounts, error=error), status


@bp.route("/users/<int:user_id>/<any(disable, enable):change>", methods=["POST"])
@admin_required
def set_user_disabled(user_id: int, change: str):
    """Admins: disable an account (its sessions end at once) or enable it again."""
    disabled = change == "disable"
    if disabled and user_id == current_user.user.id:
        flash("You can't disable your own account.", "error")
        return redirect(url_for("accounts.users"))
    with storage.transaction(_engine()) as conn:
        user = user_store.get_user(conn, user_id)
        if user is None:
            abort(404)
        user_store.set_disabled(conn, user_id, disabled)
        audit.record(
            conn,
            current_user.username,
            f"user.{change}",
            before={"username": user.username, "disabled": user.disabled},
            after={"username": user.username, "disabled": disabled},
        )
    flash(f"{user.username} is {'disabled' if disabled else 'enabled'}.", "success")
    return redirect(url_for("accounts.users"))
