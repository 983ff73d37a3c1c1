"""Stories: the articles comments are posted under, named by the site's story_id or the URL.

A comment with a `story_id` belongs to the story with that id; one without, but with a
`url`, to the story at that URL. The first comment creates the story; later ones fill in
a missing URL and keep the title current (PATCH /api/v1/stories/<story> sets either).
A story can be pre-moderated (every new comment held), audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from moderator.storage import audit
from moderator.storage import isoformat
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import comments
from moderator.storage.tables import sites
from moderator.storage.tables import stories


class StoryError(ValueError):
    """A story change that can't be made."""


@dataclass(frozen=True)
class StoryRef:
    """How a comment names its story: the site's story id and/or its URL, and a title."""

    external_id: str | None = None
    url: str | None = None
    title: str | None = None

    @property
    def key_hash(self) -> str | None:
        """The story's identity: its id when the site gave one, else its URL; None: no story."""
        if self.external_id is not None:
            return key_hash("id", self.external_id)
        if self.url is not None:
            return key_hash("url", self.url)
        return None


def key_hash(kind: str, value: str) -> str:
    """sha256 of "id:<story_id>" or "url:<url>" (URLs can outgrow an index entry)."""
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Story:
    """A story on one site."""

    id: int
    site_id: int
    external_id: str | None
    url: str | None
    title: str | None
    created_at: dt.datetime
    last_comment_at: dt.datetime | None
    premoderated_at: dt.datetime | None
    premoderated_by: str | None
    premoderation_reason: str | None
    site_name: str | None = None

    @property
    def premoderated(self) -> bool:
        """Every new comment on the story is held."""
        return self.premoderated_at is not None

    def to_dict(self, counts: Counter | None = None) -> dict:
        """The API's view, with comment counts by current status."""
        counts = counts or Counter()
        return {
            "story_id": self.external_id,
            "url": self.url,
            "title": self.title,
            "created_at": isoformat(self.created_at),
            "last_comment_at": isoformat(self.last_comment_at),
            "premoderated": self.premoderated,
            "premoderated_at": isoformat(self.premoderated_at),
            "premoderation_reason": self.premoderation_reason,
            "comments": {
                "total": sum(counts[s] for s in ("allow", "hold", "reject")),
                "allowed": counts["allow"],
                "held": counts["hold"],
                "rejected": counts["reject"],
                "reported": counts["reported"],
            },
        }


def _story(row) -> Story:
    return Story(
        id=row.id,
        site_id=row.site_id,
        external_id=row.external_id,
        url=row.url,
        title=row.title,
        created_at=utc(row.created_at),
        last_comment_at=utc(row.last_comment_at),
        premoderated_at=utc(row.premoderated_at),
        premoderated_by=row.premoderated_by,
        premoderation_reason=row.premoderation_reason,
        site_name=getattr(row, "site_name", None),
    )


def _select():
    return select(stories, sites.c.name.label("site_name")).join(
        sites, sites.c.id == stories.c.site_id
    )


def find_stories(conn: Connection, site_id: int, hashes: Iterable[str]) -> dict[str, Story]:
    """The site's stories with these key hashes, keyed by hash."""
    wanted = sorted(set(hashes))
    found: dict[str, Story] = {}
    for start in range(0, len(wanted), 500):
        # No join for the site's name: this runs before every decision that names a story.
        rows = conn.execute(
            select(stories).where(
                stories.c.site_id == site_id,
                stories.c.key_hash.in_(wanted[start : start + 500]),
            )
        )
        found.update({row.key_hash: _story(row) for row in rows})
    return found


def touch_story(conn: Connection, site_id: int, ref: StoryRef, at: dt.datetime | None) -> int:
    """The id of the story `ref` names, created if new; its URL and title kept current.

    `at` is when a comment arrived (None: the story is only being set up, no comment).
    """
    digest = ref.key_hash
    if digest is None:
        raise StoryError("a story needs a story_id or a url")
    values = {
        "site_id": site_id,
        "key_hash": digest,
        "external_id": ref.external_id,
        "url": ref.url,
        "title": ref.title,
        "created_at": at or now(),
        "last_comment_at": at,
    }
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        return conn.execute(_upsert_statement(dialect), values).scalar_one()
    found = find_stories(conn, site_id, [digest]).get(digest)
    if found is None:
        return conn.execute(stories.insert().values(values)).inserted_primary_key[0]
    conn.execute(
        stories.update()
        .where(stories.c.id == found.id)
        .values(
            url=found.url or ref.url,
            title=ref.title or found.title,
            last_comment_at=at or found.last_comment_at,
        )
    )
    return found.id


@functools.cache
def _upsert_statement(dialect: str):
    """INSERT ... ON CONFLICT (site, key) DO UPDATE ... RETURNING id, built once per dialect."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(stories).values({name: bindparam(name) for name in _TOUCHED})
    return statement.on_conflict_do_update(
        index_elements=["site_id", "key_hash"],
        set_={
            # The first URL stays (later comments may send permalinks); titles change.
            "url": func.coalesce(stories.c.url, statement.excluded.url),
            "title": func.coalesce(statement.excluded.title, stories.c.title),
            "last_comment_at": func.coalesce(
                statement.excluded.last_comment_at, stories.c.last_comment_at
            ),
        },
    ).returning(stories.c.id)


_TOUCHED = ("site_id", "key_hash", "external_id", "url", "title", "created_at", "last_comment_at")


def get_story(conn: Connection, story_id: int) -> Story | None:
    """A story by our id."""
    row = conn.execute(_select().where(stories.c.id == story_id)).first()
    return _story(row) if row else None


def find_story(conn: Connection, site_id: int, ref: str) -> Story | None:
    """The site's story that `ref` names: its story_id, else its URL."""
    found = find_stories(conn, site_id, [key_hash("id", ref), key_hash("url", ref)])
    return found.get(key_hash("id", ref)) or found.get(key_hash("url", ref))


def counts(conn: Connection, story_ids: Iterable[int]) -> dict[int, Counter]:
    """Each story's comments by current status, plus "reported" (with open reports)."""
    wanted = sorted(set(story_ids))
    found: dict[int, Counter] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for story, status, n in conn.execute(
            select(comments.c.story, comments.c.status, func.count())
            .where(comments.c.story.in_(chunk))
            .group_by(comments.c.story, comments.c.status)
        ):
            found.setdefault(story, Counter())[status] += n
        for story, n in conn.execute(
            select(comments.c.story, func.count())
            .where(comments.c.story.in_(chunk), comments.c.open_reports > 0)
            .group_by(comments.c.story)
        ):
            found.setdefault(story, Counter())["reported"] += n
    return found


def list_stories(
    conn: Connection,
    *,
    site_id: int | None = None,
    search: str | None = None,
    premoderated: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Story], int]:
    """Stories, most recently commented first."""
    conditions = []
    if site_id is not None:
        conditions.append(stories.c.site_id == site_id)
    if premoderated is not None:
        column = stories.c.premoderated_at
        conditions.append(column.is_not(None) if premoderated else column.is_(None))
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                stories.c.title.ilike(pattern, escape="\\"),
                stories.c.url.ilike(pattern, escape="\\"),
                stories.c.external_id.ilike(pattern, escape="\\"),
            )
        )
    where = and_(true(), *conditions)
    total = conn.execute(select(func.count()).select_from(stories).where(where)).scalar_one()
    rows = conn.execute(
        _select()
        .where(where)
        .order_by(
            stories.c.last_comment_at.desc().nulls_last(), stories.c.created_at.desc(), stories.c.id
        )
        .limit(limit)
        .offset(offset)
    )
    return [_story(r) for r in rows], total


def set_premoderation(
    conn: Connection, story_id: int, on: bool, *, actor: str, reason: str | None
) -> Story:
    """Start or end a story's pre-moderation, with a reason; audited. Raises StoryError."""
    before = get_story(conn, story_id)
    if before is None:
        raise StoryError("no such story")
    if on and not (reason and reason.strip()):
        raise StoryError("give a reason for pre-moderating the story")
    if on == before.premoderated:
        return before
    values = (
        {"premoderated_at": now(), "premoderated_by": actor, "premoderation_reason": reason}
        if on
        else {"premoderated_at": None, "premoderated_by": None, "premoderation_reason": None}
    )
    conn.execute(stories.update().where(stories.c.id == story_id).values(values))
    after = get_story(conn, story_id)
    audit.record(
        conn,
        actor,
        "story.premoderate" if on else "story.unpremoderate",
        site_id=before.site_id,
        note=reason or None,
        before={"story": before.external_id or before.url, "premoderated": before.premoderated},
        after={"story": after.external_id or after.url, "premoderated": after.premoderated},
        subject=f"story:{story_id}",
    )
    return after


def update_details(
    conn: Connection, story_id: int, *, title: str | None = None, url: str | None = None
) -> None:
    """Set a story's title and/or URL (None leaves it as it is)."""
    values = {k: v for k, v in (("title", title), ("url", url)) if v is not None}
    if values:
        conn.execute(stories.update().where(stories.c.id == story_id).values(values))
