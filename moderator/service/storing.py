"""Decide, then store, in one direction: the API's and the batch endpoint's path to storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from moderator import standing
from moderator import storage
from moderator.desk import lookup
from moderator.desk import statements
from moderator.policy import Decision
from moderator.service.deciding import Moderation
from moderator.service.siterules import rules_for
from moderator.service.siterules import site_settings
from moderator.storage import comments as comments_store
from moderator.storage import outbox

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from moderator.schemas import CommentIn
    from moderator.storage.sites import Site


@dataclass(frozen=True)
class StoredComment:
    """A moderated comment as the API returns it; `id` is None when it was not stored."""

    id: str | None
    external_id: str | None
    decision: str
    reasons: list[dict]
    scores: dict[str, float]
    model: str | None
    #: The decision made for this request; None when an earlier one was returned instead.
    fresh: Decision | None = None
    #: The identified language (ISO 639-1), None when undetermined.
    language: str | None = None

    def to_dict(self) -> dict:
        """`{"id", "external_id", "decision", "reasons", "scores", "model", "language"}`."""
        return {
            "id": self.id,
            "external_id": self.external_id,
            "decision": self.decision,
            "reasons": self.reasons,
            "scores": self.scores,
            "model": self.model,
            "language": self.language,
        }

    @classmethod
    def from_row(cls, row: comments_store.Comment) -> StoredComment:
        """The stored decision of a comment sent before (an idempotent retry)."""
        return cls(
            id=row.id,
            external_id=row.external_id,
            decision=row.decision,
            reasons=list(row.reasons),
            scores=dict(row.scores),
            model=row.model,
            language=row.language,
        )


def moderate(
    engine: Engine,
    moderation: Moderation,
    site: Site,
    comment: CommentIn,
    webhook_events: frozenset[str] | None = None,
) -> StoredComment:
    """Decide one comment and commit it (unless `store` is false) before returning."""
    return moderate_batch(engine, moderation, site, [comment], webhook_events)[0]


def moderate_batch(
    engine: Engine,
    moderation: Moderation,
    site: Site,
    comments: Sequence[CommentIn],
    webhook_events: frozenset[str] | None = None,
) -> list[StoredComment]:
    """Decide and store many comments with one classifier call; results in input order.

    A comment whose (site, id) is already stored gets the stored decision back, without
    being decided again, so a client can retry safely. Two concurrent requests with the
    same id both decide, but the unique constraint lets only one row in; the other request
    returns that row. `store: false` comments are decided and never written. Database
    failures raise `storage.StorageUnavailable`: nothing is returned for a comment that
    should have been stored and wasn't.

    After the text is decided, the author's and the story's standing apply (standing.py):
    a banned or suspended author's comment is rejected (`author_banned`), a pre-moderated
    author's, a new author's or a pre-moderated story's is held at least.

    `webhook_events`, when known (the worker's SiteCache), are the events the site's active
    webhook endpoints are subscribed to: a held or rejected comment whose event isn't among
    them queues no delivery without reading the endpoints. None: they are read for each.
    """
    wanted = [c.external_id for c in comments if c.external_id is not None]
    existing: dict[str, comments_store.Comment] = {}
    new = list(range(len(comments)))
    standings = [standing.CLEAR] * len(comments)
    if wanted or any(c.author_id is not None or lookup.story_ref(c).key_hash for c in comments):
        with storage.reading(engine) as conn:
            if wanted:
                existing = comments_store.find_by_external_ids(conn, site.id, wanted)
            new = [i for i, c in enumerate(comments) if c.external_id not in existing]
            standings = lookup.read_standings(conn, site, [comments[i] for i in new]) if new else []

    judged = (
        moderation.decide_with_language(
            [comments[i].text for i in new],
            rules_for(moderation, site),
            unsupported=site.unsupported_language,
            settings=site_settings(site),
            accepted=site.languages,
            declared=[c.language for c in (comments[i] for i in new)],
        )
        if new
        else []
    )
    # Who wrote it and where, after the text is judged: bans reject, pre-moderation holds.
    decisions = {
        i: standing.apply(decision, found)
        for i, (decision, _), found in zip(new, judged, standings, strict=True)
    }
    languages = {i: found.language for i, (_, found) in zip(new, judged, strict=True)}

    results: list[StoredComment | None] = [None] * len(comments)
    for i, comment in enumerate(comments):
        if comment.external_id in existing:
            results[i] = StoredComment.from_row(existing[comment.external_id])
    to_store = [i for i in new if comments[i].store]
    for i in new:
        if not comments[i].store:
            results[i] = _result(None, comments[i], decisions[i], moderation, languages[i])
    if to_store:
        at = storage.now()

        def write(conn) -> dict[int, StoredComment]:
            # Run again from scratch if its group is retried: it only returns what it stored.
            out = {}
            stored = [comments[i] for i in to_store]
            story_ids = lookup.touch_authors_and_stories(conn, site, stored, at)
            for i, story_id in zip(to_store, story_ids, strict=True):
                row = _row(site, comments[i], decisions[i], moderation, languages[i], story_id, at)
                if comments_store.insert_comment(conn, row):
                    out[i] = _result(row.id, comments[i], decisions[i], moderation, languages[i])
                    _announce(conn, row, site, webhook_events)
                else:
                    # Same (site, id) stored meanwhile, by a concurrent request or earlier in
                    # this batch: answer with that row, as a retry would get.
                    winner = comments_store.find_by_external_ids(
                        conn, site.id, [comments[i].external_id]
                    )[comments[i].external_id]
                    out[i] = StoredComment.from_row(winner)
            return out

        # Committed together with other requests' writes of this worker (one COMMIT).
        for i, result in storage.commit_together(engine, write).items():
            results[i] = result
    return results


def _announce(
    conn, row: comments_store.Comment, site: Site, subscribed: frozenset[str] | None
) -> None:
    """Queue the site's comment.held / comment.rejected webhooks, in the storing transaction.

    A rejection carries its statement of reasons, as GET /api/v1/comments/<id> gives it.
    """
    if row.decision in ("hold", "reject"):
        event = "comment.held" if row.decision == "hold" else "comment.rejected"
        if subscribed is not None and event not in subscribed:
            return  # no active endpoint wants it (as of the site cache's last look)
        data = outbox.decision_data(row)
        if row.decision == "reject":
            data["statement"] = statements.for_new_rejection(row, site.appeal_days)
        outbox.enqueue(conn, row.site_id, event, row.id, data)


def _model_for(decision: Decision, moderation: Moderation) -> str | None:
    # A decision without scores wasn't made by the model (classifier unavailable).
    if not decision.scores:
        return None
    return decision.model or moderation.model_label


def _result(
    comment_id: str | None,
    comment: CommentIn,
    decision: Decision,
    moderation: Moderation,
    language: str | None = None,
) -> StoredComment:
    data = decision.to_dict()
    return StoredComment(
        id=comment_id,
        external_id=comment.external_id,
        decision=data["decision"],
        reasons=data["reasons"],
        scores=data["scores"],
        model=_model_for(decision, moderation),
        fresh=decision,
        language=language,
    )


def _row(
    site: Site,
    comment: CommentIn,
    decision: Decision,
    moderation: Moderation,
    language: str | None = None,
    story_id: int | None = None,
    at=None,
) -> comments_store.Comment:
    data = decision.to_dict()
    return comments_store.Comment(
        id=uuid.uuid4().hex,
        site_id=site.id,
        external_id=comment.external_id,
        text=comment.text,
        author_id=comment.author_id,
        author_name=comment.author_name,
        url=comment.url,
        parent_text=comment.parent_text,
        decision=data["decision"],
        status=data["decision"],
        scores=data["scores"],
        reasons=data["reasons"],
        model=_model_for(decision, moderation),
        created_at=at or storage.now(),
        language=language,
        door=comment.door,
        context=comment.context,
        story=story_id,
        top_score=max(data["scores"].values(), default=None),
    )
