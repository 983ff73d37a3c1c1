"""Coral's external moderation phase: its request in, our decision out in its schema.

Coral (coralproject/talk 9.11.x) POSTs an `ExternalModerationRequest`
(server/src/core/server/services/comments/pipeline/phases/external.ts) for every new or
edited comment that its own phases left undecided, and reads the answer as follows:

- 204 or an empty body: no decision (the comment goes on through Coral's other phases);
- 200 with `{"status", "actions", "tags", "moderationAction"}`, checked by Coral's Joi
  schema `ExternalModerationResponseSchema` (status one of NONE, APPROVED, REJECTED, PREMOD,
  SYSTEM_WITHHELD; actions `{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC" |
  "COMMENT_DETECTED_SPAM"}`; moderationAction `{"status", "rejectionReason": {"code",
  "legalGrounds", "detailedExplanation", "customReason"}}` with a REJECTION_REASON_CODE).

We answer allow with 204, hold with SYSTEM_WITHHELD (Coral's pending queue) and a toxic flag
when a policy category triggered it, and reject with REJECTED plus a moderationAction whose
DSA rejection reason code and detailed explanation come from our reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moderator import schemas
from moderator.errors import ApiError
from moderator.policy import CATEGORIES
from moderator.schemas import CommentIn

ACTIONS = ("NEW", "EDIT")
ROLES = ("COMMENTER", "STAFF", "MODERATOR", "ADMIN", "MEMBER")
#: Our category -> Coral's REJECTION_REASON_CODE (schema.graphql, enum REJECTION_REASON_CODE).
REJECTION_CODES = {
    "toxicity": "OFFENSIVE",
    "obscene": "OFFENSIVE",
    "insult": "ABUSIVE",
    "threat": "HARASSMENT_BULLYING",
    "identity_attack": "HATE_SPEECH",
}
#: A word on the site's block list: Coral's own code for its banned-words phase.
BANNED_WORD = "BANNED_WORD"
OTHER = "OTHER"
TOXIC_FLAG = {"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}
#: Longest detailed explanation sent back (Coral shows it to the commenter).
MAX_EXPLANATION = 1000


@dataclass(frozen=True)
class PhaseRequest:
    """Coral's request, checked: the comment to decide and Coral's ids for it."""

    action: str
    comment: CommentIn


def parse(body: object, max_text_bytes: int) -> PhaseRequest:
    """Check an ExternalModerationRequest; raises ApiError (400/413) naming the field."""
    if not isinstance(body, dict):
        raise ApiError(
            400, "body must be a JSON object", [{"field": "", "message": "not an object"}]
        )
    errors: list[dict] = []
    action = body.get("action")
    if action not in ACTIONS:
        errors.append({"field": "action", "message": "must be NEW or EDIT"})
    comment = _object(body, "comment", errors)
    author = _object(body, "author", errors)
    story = _object(body, "story", errors)
    site = _object(body, "site", errors)
    text = comment.get("body")
    if not isinstance(text, str):
        errors.append({"field": "comment.body", "message": "must be a string"})
    parent_id = _string(comment, "parentID", "comment.parentID", errors, nullable=True)
    author_id = _string(author, "id", "author.id", errors)
    role = author.get("role")
    if role is not None and role not in ROLES:
        errors.append({"field": "author.role", "message": f"must be one of {', '.join(ROLES)}"})
    story_id = _string(story, "id", "story.id", errors)
    if story_id is not None and not story_id.strip():
        errors.append({"field": "story.id", "message": "must not be blank"})
    story_url = _string(story, "url", "story.url", errors, nullable=True)
    site_id = _string(site, "id", "site.id", errors, nullable=True)
    tenant_id = _string(body, "tenantID", "tenantID", errors)
    tenant_domain = _string(body, "tenantDomain", "tenantDomain", errors, nullable=True)
    if errors:
        raise ApiError(400, f"{errors[0]['field']}: {errors[0]['message']}", errors)
    fields: dict[str, Any] = {"text": text, "author": {"id": author_id}}
    if story_url:
        fields["url"] = story_url
    if len(story_id) <= schemas.MAX_ID_LENGTH:
        # Coral's story is the desk's story: its page, queue filter and pre-moderation.
        fields["story_id"] = story_id
    checked = schemas.comment_from(fields, max_text_bytes)
    context = {
        "action": action,
        "tenant_id": tenant_id,
        "tenant_domain": tenant_domain,
        "site_id": site_id,
        "story_id": story_id,
        "parent_id": parent_id,
        "author_role": role,
    }
    return PhaseRequest(
        action=action,
        comment=CommentIn(
            text=checked.text,
            author_id=checked.author_id,
            url=checked.url,
            story_id=checked.story_id,
            door="coral",
            context={k: v for k, v in context.items() if v is not None},
        ),
    )


def _error(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _object(body: Mapping, name: str, errors: list[dict]) -> Mapping:
    value = body.get(name)
    if not isinstance(value, dict):
        errors.append({"field": name, "message": "must be an object"})
        return {}
    return value


def _string(
    obj: Mapping, key: str, field: str, errors: list[dict], nullable: bool = False
) -> str | None:
    value = obj.get(key)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value or len(value) > schemas.MAX_URL_LENGTH:
        errors.append({"field": field, "message": "must be a non-empty string"})
        return None
    if "\x00" in value or not _valid_unicode(value):
        errors.append({"field": field, "message": "must be valid text without NUL"})
        return None
    return value


def _valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def response(decision: str, reasons: list[dict], model: str | None) -> dict | None:
    """Our decision in Coral's ExternalModerationResponse schema; None means answer 204."""
    if decision == "allow":
        return None
    policy = [r for r in reasons if r.get("category") in _POLICY]
    if decision == "hold":
        body: dict = {"status": "SYSTEM_WITHHELD"}
        if policy:
            body["actions"] = [dict(TOXIC_FLAG)]
        return body
    return {
        "status": "REJECTED",
        "actions": [dict(TOXIC_FLAG)],
        "moderationAction": {
            "status": "REJECTED",
            "rejectionReason": {
                "code": rejection_code(reasons),
                "detailedExplanation": explanation(reasons, model),
            },
        },
    }


_POLICY = {str(c) for c in CATEGORIES}


def rejection_code(reasons: list[dict]) -> str:
    """The DSA rejection reason code for our first (strongest) reason."""
    for reason in reasons:
        if reason.get("source") == "wordlist":
            return BANNED_WORD
        code = REJECTION_CODES.get(reason.get("category"))
        if code:
            return code
    return OTHER


def explanation(reasons: list[dict], model: str | None) -> str:
    """A statement of reasons: each category, its score and source, and the words."""
    parts = []
    for reason in reasons:
        category = str(reason.get("category", "")).replace("_", " ")
        if reason.get("source") == "wordlist":
            what = f"{category}: a word the site does not allow"
        elif reason.get("score") is not None:
            what = f"{category} (score {float(reason['score']):.2f})"
        else:
            what = category
        words = [str(w) for w in reason.get("words") or ()][:5]
        if words:
            what += " - " + ", ".join(f'"{w}"' for w in words)
        parts.append(what)
    by = f" by Moderator ({model})" if model else " by Moderator"
    text = f"Rejected{by}: " + "; ".join(parts) + "." if parts else f"Rejected{by}."
    return text if len(text) <= MAX_EXPLANATION else text[: MAX_EXPLANATION - 3] + "..."
