"""Undo: a moderator takes back their own decision within MODERATOR_UNDO_MINUTES."""

from __future__ import annotations

import datetime as dt

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask_login import current_user

from moderator import storage
from moderator.dashboard import bp
from moderator.dashboard import engine
from moderator.dashboard.forms import int_arg
from moderator.dashboard.forms import next_url
from moderator.dashboard.forms import plausible_id
from moderator.storage.review.undo import can_undo
from moderator.storage.review.undo import undo_decision

#: What the moderator is told when an undo is refused.
PROBLEMS = {
    "not_decided": "Nobody has decided this comment: there is nothing to undo.",
    "not_yours": "Only the moderator who decided a comment can undo the decision.",
    "too_late": "The time to undo this decision has passed.",
    "appealed": "The author has appealed this decision: the appeal decides it now.",
    "changed": "The comment changed meanwhile; look at it again.",
}


def grace() -> dt.timedelta:
    """How long a decision can be undone."""
    return dt.timedelta(minutes=current_app.extensions["moderator"].config.undo_minutes)


def undo_open(item) -> bool:
    """The signed-in moderator may still undo this comment's decision (for the card's button)."""
    return current_user.is_authenticated and can_undo(
        item, current_user.username, grace(), storage.now()
    )


@bp.post("/comments/<comment_id>/undo")
def undo(comment_id: str):
    """Take back one's own decision: the comment returns to the queue, never a label."""
    if not plausible_id(comment_id):
        abort(404)
    if int_arg(request.form, "version") is None:
        abort(400, description="version is required")
    with storage.transaction(engine()) as conn:
        outcome = undo_decision(conn, comment_id, actor=current_user.username, grace=grace())
    if outcome is None:
        abort(404)
    if not outcome.ok:
        abort(409, description=PROBLEMS[outcome.problem])
    flash(f"Undone: comment {comment_id[:8]} is back in the queue.", "success")
    return redirect(next_url(), code=303)
