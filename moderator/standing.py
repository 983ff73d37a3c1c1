"""Who wrote a comment, and where: the author's and the story's standing, after the decision.

The classifier and word rules judge the text (service.Moderation); this step then applies
what moderators decided about the author and the story, so a banned author's comment is
rejected and a pre-moderated one held, whatever the text. No Flask, no database: the
service reads the standing and passes it in.
"""

from __future__ import annotations

from dataclasses import dataclass

from moderator.policy import Action
from moderator.policy import Decision
from moderator.policy import Reason
from moderator.policy import Source

#: Reason categories this step adds (source "system").
AUTHOR_BANNED = "author_banned"
AUTHOR_PREMODERATED = "author_premoderated"
NEW_AUTHOR = "new_author"
STORY_PREMODERATED = "story_premoderated"
REASONS = (AUTHOR_BANNED, AUTHOR_PREMODERATED, NEW_AUTHOR, STORY_PREMODERATED)

_SEVERITY = {Action.ALLOW: 0, Action.HOLD: 1, Action.REJECT: 2}


@dataclass(frozen=True)
class Standing:
    """What moderators decided about a comment's author and story."""

    #: The author is banned, or suspended now: reject.
    banned: bool = False
    #: The author is always pre-moderated: hold at least.
    premoderated: bool = False
    #: The author is within the site's first-N-comments pre-moderation: hold at least.
    new_author: bool = False
    #: The story is pre-moderated: hold at least.
    story_premoderated: bool = False


CLEAR = Standing()


def apply(decision: Decision, standing: Standing) -> Decision:
    """The decision with the standing applied: never milder than before.

    Banned (or suspended) rejects, with reason `author_banned`. Each pre-moderation holds
    at least, with its own reason: `author_premoderated`, `new_author`,
    `story_premoderated`. The text's own reasons and scores are kept.
    """
    if standing == CLEAR:
        return decision
    action, added = decision.action, []
    if standing.banned:
        action = Action.REJECT
        added.append(AUTHOR_BANNED)
    for flag, category in (
        (standing.premoderated, AUTHOR_PREMODERATED),
        (standing.new_author, NEW_AUTHOR),
        (standing.story_premoderated, STORY_PREMODERATED),
    ):
        if flag:
            if _SEVERITY[action] < _SEVERITY[Action.HOLD]:
                action = Action.HOLD
            added.append(category)
    reasons = tuple(Reason(category=c, score=None, source=Source.SYSTEM) for c in added)
    return Decision(
        action=action,
        scores=decision.scores,
        reasons=(*reasons, *decision.reasons),
        model=decision.model,
    )
