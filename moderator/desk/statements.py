"""Statements of reasons (DSA Art. 17) and whether a rejection may still be appealed (Art. 20).

No Flask, no database: a comment's stored decision, the site's appeal window and the
comment's appeals come in, a JSON-ready statement comes out. The statement says what was
restricted, the facts (the policy category or rule, the words), whether automated means
detected and decided it, the reason code, and how and until when to appeal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from moderator.standing import AUTHOR_BANNED
from moderator.storage import isoformat

#: How the statement names each ground, for people.
GROUNDS = {
    "toxicity": "toxic or abusive language",
    "obscene": "obscene language",
    "insult": "insults aimed at a person",
    "identity_attack": "attacks on people for who they are (religion, community, nation, "
    "ethnicity, gender, sexual orientation or disability)",
    "threat": "threats of violence",
    "spam": "spam",
    "off-topic": "being off-topic",
    "other": "breaking the site's comment rules",
    AUTHOR_BANNED: "the author being banned or suspended from commenting on this site",
}

#: Why an appeal can't be opened, as the API's problem detail says it.
REFUSALS = {
    "not_rejected": "only a rejected comment can be appealed",
    "appeals_disabled": "this site does not take appeals",
    "window_closed": "the time to appeal this decision has passed",
    "already_appealed": "this decision has already been appealed",
}


class DecidedComment(Protocol):
    """What a statement needs of a stored comment (storage's Comment and ReviewComment)."""

    id: str
    status: str
    reasons: Sequence[Mapping]
    created_at: dt.datetime
    human_decision: str | None
    decided_at: dt.datetime | None
    reason_code: str | None


class AppealLike(Protocol):
    """What the appeal window needs of an appeal."""

    decision_at: dt.datetime
    status: str
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class AppealWindow:
    """Whether the standing decision may be appealed now, until when, and if not, why."""

    possible: bool
    until: dt.datetime | None
    refusal: str | None = None


def decision_at(comment: DecidedComment) -> dt.datetime:
    """When the standing decision was made: a person's, else the automatic one."""
    if comment.human_decision is not None and comment.decided_at is not None:
        return comment.decided_at
    return comment.created_at


def appeal_window(
    comment: DecidedComment,
    appeal_days: int,
    appeals: Sequence[AppealLike],
    at: dt.datetime,
) -> AppealWindow:
    """May the author appeal the comment's standing decision at `at`?

    Only a rejection, within `appeal_days` of it (0: the site takes no appeals), once per
    decision; an upheld appeal makes the rejection it upheld final.
    """
    if comment.status != "reject":
        return AppealWindow(False, None, "not_rejected")
    if appeal_days <= 0:
        return AppealWindow(False, None, "appeals_disabled")
    when = decision_at(comment)
    until = when + dt.timedelta(days=appeal_days)
    for appeal in appeals:
        if appeal.decision_at == when:
            return AppealWindow(False, until, "already_appealed")
        if appeal.status == "upheld" and appeal.resolved_at and appeal.resolved_at >= when:
            return AppealWindow(False, until, "already_appealed")
    if at > until:
        return AppealWindow(False, until, "window_closed")
    return AppealWindow(True, until)


def statement(
    comment: DecidedComment,
    window: AppealWindow,
    appeals: Sequence[AppealLike] = (),
    appeal_path: str | None = None,
) -> dict | None:
    """The statement of reasons for a rejected comment (None for any other status).

    `appeal_path` is where the site sends an appeal (`POST /api/v1/comments/<id>/appeal`).
    """
    if comment.status != "reject":
        return None
    automatic = [r for r in comment.reasons if isinstance(r, Mapping)]
    by_person = comment.human_decision == "reject"
    detected = any(r.get("source") in ("classifier", "wordlist") for r in automatic)
    if by_person:
        ground = comment.reason_code or "other"
    else:
        ground = next(
            (r.get("category") for r in automatic if r.get("category") in GROUNDS), "other"
        )
    words = sorted({w for r in automatic for w in r.get("words") or () if isinstance(w, str)})
    when = decision_at(comment)
    current = next((a for a in reversed(appeals) if a.decision_at == when), None)
    return {
        "decision": "reject",
        "restriction": "removal",
        "decided_at": isoformat(when),
        "automated_detection": detected,
        "automated_decision": not by_person,
        "ground": ground,
        "reason_code": comment.reason_code if by_person else ground,
        "facts": [
            {
                "category": r.get("category"),
                "source": r.get("source"),
                "score": r.get("score"),
                "words": list(r.get("words") or ()),
            }
            for r in automatic
        ],
        "words": words,
        "explanation": explain(ground, by_person, detected, words),
        "appeal": {
            "possible": window.possible,
            "until": isoformat(window.until),
            "refusal": window.refusal,
            "how": appeal_path if window.possible else None,
            "status": current.status if current is not None else None,
        },
    }


def explain(ground: str, by_person: bool, detected: bool, words: Sequence[str]) -> str:
    """One plain sentence or three: what was decided, why, and by what means."""
    reason = GROUNDS.get(ground, GROUNDS["other"])
    if by_person:
        text = f"A moderator removed this comment for {reason}."
        if detected:
            text += " Automated detection flagged it for review first."
    elif ground == AUTHOR_BANNED:
        text = f"This comment was removed automatically because of {reason}."
    else:
        text = (
            f"This comment was removed automatically for {reason}: an automated system "
            "judged it against the site's comment policy, without a person."
        )
    if words and ground != AUTHOR_BANNED:
        text += " The words that weighed most: " + ", ".join(words[:10]) + "."
    return text


def appeal_path(comment_id: str) -> str:
    """Where a site sends an author's appeal."""
    return f"POST /api/v1/comments/{comment_id}/appeal"


def current(
    comment: DecidedComment, appeal_days: int, appeals: Sequence[AppealLike], at: dt.datetime
) -> dict | None:
    """The statement of a comment as it stands at `at`, with its appeals (None unless rejected)."""
    window = appeal_window(comment, appeal_days, appeals, at)
    return statement(comment, window, appeals, appeal_path(comment.id))


def for_new_rejection(comment: DecidedComment, appeal_days: int) -> dict | None:
    """The statement of a comment rejected just now (nothing appealed yet)."""
    return current(comment, appeal_days, (), decision_at(comment))
