"""What a site does through the API at the desk: read a comment's state with its statement
of reasons, read an author, report a comment, appeal a rejection, read and change a story.

Every function sees one site only (the key's): another site's comment, author or story is
NotFound, exactly like one that doesn't exist. Errors are exceptions the API turns into
problems: NotFound (404), Conflict (409) and RateLimited (429).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from moderator import storage
from moderator.desk import statements
from moderator.storage import appeals as appeals_store
from moderator.storage import authors as authors_store
from moderator.storage import comments as comments_store
from moderator.storage import reports as reports_store
from moderator.storage import review
from moderator.storage import stories as stories_store

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy import Engine

    from moderator.schemas import ReportIn
    from moderator.schemas import StoryPatch
    from moderator.storage.sites import Site

#: Who the audit log names for changes a site makes through the API.
API_ACTOR = "api"


class NotFound(Exception):
    """No such comment, author or story for this site."""


class Conflict(Exception):
    """The request can't be done in the current state; `code` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class RateLimited(Exception):
    """Over a limit; retry after `retry_after` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


def _comment_state(
    conn: Connection, site: Site, comment: comments_store.Comment, at: dt.datetime
) -> dict:
    appeals = appeals_store.appeals_of(conn, [comment.id]).get(comment.id, [])
    story = stories_store.get_story(conn, comment.story) if comment.story is not None else None
    return {
        **comment.to_dict(),
        "story": None
        if story is None
        else {"story_id": story.external_id, "url": story.url, "title": story.title},
        "reports": comment.report_count,
        "statement": statements.current(comment, site.appeal_days, appeals, at),
        "appeal": appeals[-1].to_dict() if appeals else None,
    }


def comment_state(engine: Engine, site: Site, ref: str) -> dict:
    """GET /api/v1/comments/<id>: the comment, its story, reports, statement and appeal."""
    with storage.reading(engine) as conn:
        comment = comments_store.find_comment(conn, site.id, ref)
        if comment is None:
            raise NotFound("no such comment")
        return _comment_state(conn, site, comment, storage.now())


def author_state(engine: Engine, site: Site, ref: str) -> dict:
    """GET /api/v1/authors/<id>: the author's status, actions with reasons, history."""
    with storage.reading(engine) as conn:
        author = authors_store.get_author(conn, site.id, ref)
        if author is None:
            raise NotFound("no such author")
        history = authors_store.histories(conn, [(site.id, ref)]).get((site.id, ref))
        return author.to_dict(storage.now(), history)


def report(
    engine: Engine, site: Site, ref: str, body: ReportIn, limit: tuple[int, int]
) -> tuple[dict, bool]:
    """Store a reader's report; (answer, True) when new, the earlier report when repeated.

    `limit` is (reports, seconds) per reporter on the site; a repeat is never counted.
    """
    amount, seconds = limit
    with storage.transaction(engine) as conn:
        comment = comments_store.find_comment(conn, site.id, ref)
        if comment is None:
            raise NotFound("no such comment")
        earlier = [
            r
            for r in reports_store.reports_for(conn, [comment.id]).get(comment.id, [])
            if r.reporter_id == body.reporter_id
        ]
        if not earlier:
            at = storage.now()
            since = at - dt.timedelta(seconds=seconds)
            if reports_store.reports_since(conn, site.id, body.reporter_id, since) >= amount:
                oldest = reports_store.oldest_since(conn, site.id, body.reporter_id, since)
                wait = (oldest + dt.timedelta(seconds=seconds) - at) if oldest else None
                raise RateLimited(
                    f"this reporter made {amount} reports in {seconds} seconds; wait",
                    max(1, int(wait.total_seconds()) + 1) if wait else seconds,
                )
        found, created = reports_store.add_report(
            conn, site.id, comment.id, body.reporter_id, body.reason, body.text
        )
        comment = comments_store.get_comment(conn, site.id, comment.id)
    return {
        "report": found.to_dict(),
        "comment": {
            "id": comment.id,
            "external_id": comment.external_id,
            "status": comment.status,
            "reports": comment.report_count,
            "open_reports": comment.open_reports,
            "reported": comment.status == "allow" and comment.open_reports >= site.report_threshold,
        },
    }, created


def appeal(engine: Engine, site: Site, ref: str, text: str) -> dict:
    """Open an appeal of the comment's rejection: once per decision, within the window."""
    with storage.transaction(engine) as conn:
        found = comments_store.find_comment(conn, site.id, ref)
        if found is None:
            raise NotFound("no such comment")
        comment = review.get_comment(conn, found.id)
        at = storage.now()
        earlier = appeals_store.appeals_of(conn, [comment.id]).get(comment.id, [])
        window = statements.appeal_window(comment, site.appeal_days, earlier, at)
        if not window.possible:
            raise Conflict(window.refusal, statements.REFUSALS[window.refusal])
        try:
            opened = appeals_store.open_appeal(conn, comment, text, at)
        except appeals_store.AlreadyAppealed:
            raise Conflict("already_appealed", statements.REFUSALS["already_appealed"]) from None
        state = _comment_state(conn, site, found, at)
    return {"appeal": opened.to_dict(), "comment": state}


def _story_dict(conn: Connection, story: stories_store.Story) -> dict:
    return story.to_dict(stories_store.counts(conn, [story.id]).get(story.id))


def story_state(engine: Engine, site: Site, ref: str) -> dict:
    """GET /api/v1/stories/<story>: by story_id, else URL."""
    with storage.reading(engine) as conn:
        story = stories_store.find_story(conn, site.id, ref)
        if story is None:
            raise NotFound("no such story")
        return _story_dict(conn, story)


def update_story(engine: Engine, site: Site, ref: str, patch: StoryPatch) -> tuple[dict, bool]:
    """PATCH /api/v1/stories/<story>: set its title or URL, start or end pre-moderation.

    A story nobody commented on yet is created, so a site can pre-moderate a story before
    it opens. `ref` is the story_id; a `ref` that is an http(s) URL names the story by URL
    (for sites that send no story_id). (answer, True) when the story was created.
    """
    with storage.transaction(engine) as conn:
        story = stories_store.find_story(conn, site.id, ref)
        created = story is None
        if created:
            is_url = ref.startswith(("http://", "https://"))
            story_ref = stories_store.StoryRef(
                external_id=None if is_url else ref,
                url=ref if is_url else patch.url,
                title=patch.title,
            )
            story = stories_store.get_story(
                conn, stories_store.touch_story(conn, site.id, story_ref, None)
            )
        elif patch.title is not None or patch.url is not None:
            stories_store.update_details(conn, story.id, title=patch.title, url=patch.url)
        if patch.premoderated is not None:
            stories_store.set_premoderation(
                conn, story.id, patch.premoderated, actor=API_ACTOR, reason=patch.reason
            )
        return _story_dict(conn, stories_store.get_story(conn, story.id)), created
