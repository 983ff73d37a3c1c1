"""A batch's authors and stories: their standing before deciding, their rows when storing.

Called by service.moderate_batch only: three reads per batch (authors, their approved
counts when the site pre-moderates new authors, stories), and one upsert per author and
story in the storing transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from moderator import standing
from moderator import storage
from moderator.storage import authors as authors_store
from moderator.storage import stories as stories_store

if TYPE_CHECKING:
    from moderator.schemas import CommentIn
    from moderator.storage.sites import Site


def story_ref(comment: CommentIn) -> stories_store.StoryRef:
    """The story a comment names: its story_id, else its url (no story without either)."""
    return stories_store.StoryRef(
        external_id=comment.story_id, url=comment.url, title=comment.story_title
    )


def read_standings(
    conn: Connection, site: Site, comments: Sequence[CommentIn]
) -> list[standing.Standing]:
    """Each comment's author and story standing, read in three queries for the batch."""
    at = storage.now()
    author_ids = {c.author_id for c in comments if c.author_id is not None}
    authors = authors_store.find_authors(conn, site.id, author_ids) if author_ids else {}
    approved = (
        authors_store.allowed_counts(conn, site.id, author_ids)
        if author_ids and site.new_author_premoderation
        else {}
    )
    hashes = {h for c in comments if (h := story_ref(c).key_hash) is not None}
    stories = stories_store.find_stories(conn, site.id, hashes) if hashes else {}
    found = []
    for comment in comments:
        author = authors.get(comment.author_id) if comment.author_id is not None else None
        story = stories.get(story_ref(comment).key_hash)
        found.append(
            standing.Standing(
                banned=author is not None and author.rejects(at),
                premoderated=author is not None and author.premoderated_at is not None,
                # Coral's "new commenter" rule: held until N of their comments were approved.
                new_author=comment.author_id is not None
                and approved.get(comment.author_id, 0) < site.new_author_premoderation,
                story_premoderated=story is not None and story.premoderated,
            )
        )
    return found


def touch_authors_and_stories(
    conn: Connection, site: Site, comments: Sequence[CommentIn], at: dt.datetime
) -> list[int | None]:
    """Create or refresh the comments' authors and stories; each comment's story id."""
    seen = {c.author_id: (c.author_name, at) for c in comments if c.author_id is not None}
    if seen:
        authors_store.touch_authors(conn, site.id, seen)
    ids: dict[str, int] = {}
    story_ids = []
    for comment in comments:
        ref = story_ref(comment)
        if ref.key_hash is None:
            story_ids.append(None)
            continue
        if ref.key_hash not in ids:
            ids[ref.key_hash] = stories_store.touch_story(conn, site.id, ref, at)
        story_ids.append(ids[ref.key_hash])
    return story_ids
