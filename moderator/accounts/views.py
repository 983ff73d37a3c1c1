"""The accounts pages: log in, log out, your account (password, sessions), users (admins)."""

from __future__ import annotations

import time

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_login import logout_user
from werkzeug.security import check_password_hash

from moderator import storage
from moderator.accounts.passwords import DUMMY_HASH
from moderator.accounts.passwords import MAX_PASSWORD
from moderator.accounts.passwords import USERNAME_RE
from moderator.accounts.passwords import AccountError
from moderator.accounts.passwords import change_password
from moderator.accounts.passwords import create_account
from moderator.accounts.passwords import normalised_attempt
from moderator.accounts.sessions import end_session
from moderator.accounts.sessions import start_session
from moderator.accounts.throttle import LoginThrottle
from moderator.accounts.web import admin_required
from moderator.accounts.web import bp
from moderator.accounts.web import safe_next
from moderator.storage import audit
from moderator.storage import sessions as session_store
from moderator.storage import users as user_store


def _engine():
    return current_app.extensions["moderator.engine"]


def _throttle() -> LoginThrottle:
    return current_app.extensions["moderator.login_throttle"]


def _too_many(wait: int, template: str, **context):
    response = current_app.make_response((render_template(template, **context), 429))
    response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a correct password starts a fresh server-side session."""
    default = url_for("dashboard.queue")
    target = safe_next(request.values.get("next"), default)
    if current_user.is_authenticated:
        return redirect(target)
    if request.method == "GET":
        return render_template("dashboard/login.html", next=target, error=None)

    username = request.form.get("username", "")
    password = request.form.get("password", "")
    throttle = _throttle()
    address = request.remote_addr or "unknown"
    wait = throttle.retry_after(username, address)
    if wait:
        return _too_many(
            wait,
            "dashboard/login.html",
            next=target,
            error=f"Too many failed logins. Try again in {wait} seconds.",
            username=username[:64],
        )

    user = None
    if USERNAME_RE.fullmatch(username) and 0 < len(password) <= MAX_PASSWORD:
        with storage.reading(_engine()) as conn:
            user = user_store.get_user_by_username(conn, username)
    ok = check_password_hash(
        user.password_hash if user else DUMMY_HASH, normalised_attempt(password)
    )
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
    start_session(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = int(time.time())
    with storage.transaction(_engine()) as conn:
        audit.record(conn, user.username, "user.login")
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session on the server (POST only, with CSRF, so a link can't log anyone out)."""
    if current_user.is_authenticated:
        with storage.transaction(_engine()) as conn:
            end_session(conn, current_user._get_current_object())
            audit.record(conn, current_user.username, "user.logout")
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Your account: change your password (ending your other sessions)."""
    error, status = None, 200
    me = current_user._get_current_object()
    if request.method == "POST":
        current = request.form.get("current", "")
        password = request.form.get("password", "")
        confirm = request.form.get("confirm", "")
        address = request.remote_addr or "unknown"
        wait = _throttle().retry_after(me.username, address)
        if wait:
            return _too_many(
                wait,
                "dashboard/account.html",
                error=f"Too many wrong passwords. Try again in {wait} seconds.",
                sessions=_count_sessions(me.user.id),
            )
        try:
            if not check_password_hash(me.user.password_hash, normalised_attempt(current)):
                _throttle().fail(me.username, address)
                raise AccountError("the current password is wrong")
            if password != confirm:
                raise AccountError("the two new passwords differ")
            if check_password_hash(me.user.password_hash, normalised_attempt(password)):
                raise AccountError("the new password must differ from the current one")
            with storage.transaction(_engine()) as conn:
                ended = change_password(conn, me.user, password, actor=me.username)
                user = user_store.get_user(conn, me.user.id)
        except AccountError as problem:
            error, status = str(problem), 400
        else:
            # The change ended every session, this one too; this browser gets a new one.
            session.clear()
            start_session(user)
            session.permanent = True
            session["login_at"] = session["seen_at"] = int(time.time())
            others = max(0, ended - 1)
            flash(f"Password changed; {others} other session(s) logged out.", "success")
            return redirect(url_for("accounts.account"))
    sessions = _count_sessions(me.user.id)
    return render_template("dashboard/account.html", error=error, sessions=sessions), status


@bp.route("/account/sessions/end", methods=["POST"])
@login_required
def end_my_sessions():
    """Log out everywhere: end every session of yours, this one included."""
    me = current_user._get_current_object()
    with storage.transaction(_engine()) as conn:
        ended = session_store.end_user_sessions(conn, me.user.id)
        audit.record(
            conn,
            me.username,
            "user.logout_everywhere",
            after={"username": me.username, "sessions_ended": ended},
        )
    logout_user()
    session.clear()
    flash(f"You are logged out everywhere ({ended} session(s) ended).", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    """Admins: list accounts (with their open sessions) and create one."""
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
        sessions = {a.id: session_store.count_sessions(conn, a.id) for a in accounts}
    return render_template(
        "dashboard/users.html", accounts=accounts, sessions=sessions, error=error
    ), status


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


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
@admin_required
def end_user_sessions(user_id: int):
    """Admins: log a user out everywhere (every session of theirs ends at once)."""
    with storage.transaction(_engine()) as conn:
        user = user_store.get_user(conn, user_id)
        if user is None:
            abort(404)
        ended = session_store.end_user_sessions(conn, user_id)
        audit.record(
            conn,
            current_user.username,
            "user.logout_everywhere",
            after={"username": user.username, "sessions_ended": ended},
        )
    flash(f"{user.username} is logged out everywhere ({ended} session(s) ended).", "success")
    if user_id == current_user.user.id:
        logout_user()
        session.clear()
        return redirect(url_for("accounts.login"))
    return redirect(url_for("accounts.users"))


def _count_sessions(user_id: int) -> int:
    with storage.reading(_engine()) as conn:
        return session_store.count_sessions(conn, user_id)
