"""Password change (every account, /dashboard/password) and an admin's reset of another's.

Changing needs the current password and counts wrong ones against the login throttle, so a
left-open session can't be used to guess it. Either change ends the account's other
sessions; the person changing their own password stays logged in.
"""

from __future__ import annotations

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_user

from moderator import accounts
from moderator import passwords
from moderator import storage
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.storage import users as user_store


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change your own password: the current one, then the new one twice."""
    if request.method == "GET":
        return render_template("dashboard/password.html", error=None)
    throttle: accounts.LoginThrottle = current_app.extensions["moderator.login_throttle"]
    username = current_user.username
    address = request.remote_addr or "unknown"
    wait = throttle.retry_after(username, address)
    if wait:
        error = f"Too many wrong passwords. Try again in {wait} seconds."
        response = current_app.make_response(
            (render_template("dashboard/password.html", error=error), 429)
        )
        response.headers["Retry-After"] = str(wait)
        return response
    with storage.reading(engine()) as conn:
        user = user_store.get_user(conn, current_user.user.id)
    if user is None:
        abort(404)
    if not passwords.current_password_ok(user, request.form.get("current", "")):
        throttle.fail(username, address)
        return render_template(
            "dashboard/password.html", error="Your current password is wrong."
        ), 400
    try:
        with storage.transaction(engine()) as conn:
            changed = passwords.set_password(
                conn,
                user,
                request.form.get("password", ""),
                request.form.get("confirm", ""),
                actor=username,
                action="user.password_change",
            )
    except accounts.AccountError as problem:
        return render_template("dashboard/password.html", error=str(problem)), 400
    throttle.succeed(username)
    # The session's id carries the old hash's fingerprint: renew it for this session only.
    login_user(accounts.LoginUser(changed))
    flash("Your password is changed. Your other sessions have ended.", "success")
    return redirect(url_for("dashboard.password"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@accounts.admin_required
def reset_password(user_id: int):
    """Admins: give another account a new password (typed twice); its sessions end."""
    if user_id == current_user.user.id:
        flash("Change your own password here, with your current one.", "error")
        return redirect(url_for("dashboard.password"))
    error = None
    try:
        with storage.transaction(engine()) as conn:
            user = user_store.get_user(conn, user_id)
            if user is None:
                abort(404)
            passwords.set_password(
                conn,
                user,
                request.form.get("password", ""),
                request.form.get("confirm", ""),
                actor=current_user.username,
                action="user.password_reset",
            )
    except accounts.AccountError as problem:
        error = f"{user.username}: {problem}"
    if error is None:
        flash(f"{user.username} has a new password; their sessions have ended.", "success")
        return redirect(url_for("accounts.users"))
    with storage.reading(engine()) as conn:
        listed = user_store.list_users(conn)
    return render_template("dashboard/users.html", accounts=listed, error=error), 400
