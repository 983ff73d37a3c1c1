"""An admin's reset of another account's password (Users page); it ends their sessions.

A person changes their own password on their account page (/account, moderator/accounts),
which needs the current one and counts wrong ones against the login throttle;
/dashboard/password leads there.
"""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from moderator import accounts
from moderator import passwords
from moderator import storage
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.storage import sessions as session_store
from moderator.storage import users as user_store


@bp.get("/password")
def password():
    """Your password is changed on your account page (which also lists your sessions)."""
    return redirect(url_for("accounts.account"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@accounts.admin_required
def reset_password(user_id: int):
    """Admins: give another account a new password (typed twice); its sessions end."""
    if user_id == current_user.user.id:
        flash("Change your own password here, with your current one.", "error")
        return redirect(url_for("accounts.account"))
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
        sessions = {u.id: session_store.count_sessions(conn, u.id) for u in listed}
    return render_template(
        "dashboard/users.html", accounts=listed, sessions=sessions, error=error
    ), 400
