"""The review lists: which comments a page shows, in which order, with their site and story."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import Text
from sqlalchemy import and_
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true

from moderator.storage import isoformat
from moderator.storage import utc
from moderator.storage.tables import comments
from moderator.storage.tables import sites
from moderator.storage.tables import stories

#: The comment fields a decision changes; the audit log keeps them before and after.
DECISION_FIELDS = ("status", "human_decision", "decided_by", "decided_at", "note", "reason_code")

#: The orders a list can be shown in: oldest first, newest first, highest score first,
#: most open reports first.
ORDERS = ("oldest", "newest", "score", "reports")


@dataclass(frozen=True)
class ReviewComment:
    """A stored comment as the dashboard shows it, with its site's name and its story."""

    id: str
    site_id: int
    site_name: str
    external_id: str | None
    text: str
    author_id: str | None
    author_name: str | None
    url: str | None
    parent_text: str | None
    decision: str
    status: str
    scores: Mapping[str, float]
    reasons: tuple[Mapping, ...]
    model: str | None
    created_at: dt.datetime
    human_decision: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None
    reason_code: str | None
    version: int
    language: str | None = None
    door: str | None = None
    story: int | None = None
    story_title: str | None = None
    story_url: str | None = None
    story_external_id: str | None = None
    story_premoderated: bool = False
    top_score: float | None = None
    report_count: int = 0
    open_reports: int = 0
    report_threshold: int = 1
    appeal_days: int = 14

    @property
    def reviewable(self) -> bool:
        """A person may decide it: nobody has yet, or readers reported it since the last review."""
        return self.human_decision is None or (self.status == "allow" and self.open_reports > 0)

    @property
    def reported(self) -> bool:
        """In the Reported queue: allowed, with at least the site's threshold of open reports."""
        return self.status == "allow" and self.open_reports >= self.report_threshold

    @property
    def decision_at(self) -> dt.datetime:
        """When the decision that stands was made: a person's, else the automatic one."""
        return self.decided_at if self.human_decision is not None else self.created_at

    def snapshot(self) -> dict:
        """The decision fields and version, JSON-ready, for the audit log's before/after."""
        data = {name: getattr(self, name) for name in DECISION_FIELDS}
        data["decided_at"] = isoformat(self.decided_at)
        data["version"] = self.version
        return data


@dataclass(frozen=True)
class CommentFilter:
    """Which comments a list shows; None means any. `until` is inclusive."""

    status: str | None = None
    site_id: int | None = None
    category: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    search: str | None = None
    decided: str | None = None  # "human", "automatic" or None
    story: int | None = None
    author_id: str | None = None  # the site's author id; with site_id
    reported: bool = False  # only the Reported queue: allowed, reports at the site's threshold


def start_of(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of `day`."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def comment_from_row(row) -> ReviewComment:
    """A ReviewComment from a row of `comment_select()`."""
    reasons = row.reasons if isinstance(row.reasons, list) else []
    return ReviewComment(
        id=row.id,
        site_id=row.site_id,
        site_name=row.site_name,
        external_id=row.external_id,
        text=row.text,
        author_id=row.author_id,
        author_name=row.author_name,
        url=row.url,
        parent_text=row.parent_text,
        decision=row.decision,
        status=row.status,
        scores=row.scores if isinstance(row.scores, dict) else {},
        reasons=tuple(r for r in reasons if isinstance(r, dict)),
        model=row.model,
        created_at=utc(row.created_at),
        human_decision=row.human_decision,
        decided_by=row.decided_by,
        decided_at=utc(row.decided_at),
        note=row.note,
        reason_code=row.reason_code,
        version=row.version,
        language=row.language,
        door=row.door,
        story=row.story,
        story_title=row.story_title,
        story_url=row.story_url,
        story_external_id=row.story_external_id,
        story_premoderated=row.story_premoderated_at is not None,
        top_score=row.top_score,
        report_count=row.report_count or 0,
        open_reports=row.open_reports or 0,
        report_threshold=row.report_threshold or 1,
        appeal_days=row.appeal_days,
    )


def _joined():
    return comments.join(sites, sites.c.id == comments.c.site_id).outerjoin(
        stories, stories.c.id == comments.c.story
    )


def comment_select():
    """SELECT comments with their site's name and threshold and their story's fields."""
    return select(
        comments,
        sites.c.name.label("site_name"),
        sites.c.report_threshold.label("report_threshold"),
        sites.c.appeal_days.label("appeal_days"),
        stories.c.title.label("story_title"),
        stories.c.url.label("story_url"),
        stories.c.external_id.label("story_external_id"),
        stories.c.premoderated_at.label("story_premoderated_at"),
    ).select_from(_joined())


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _comment_conditions(f: CommentFilter) -> list:
    conditions = []
    if f.status is not None:
        conditions.append(comments.c.status == f.status)
    if f.reported:
        conditions.append(comments.c.status == "allow")
        conditions.append(comments.c.open_reports >= sites.c.report_threshold)
    if f.site_id is not None:
        conditions.append(comments.c.site_id == f.site_id)
    if f.story is not None:
        conditions.append(comments.c.story == f.story)
    if f.author_id is not None:
        conditions.append(comments.c.author_id == f.author_id)
    if f.category is not None:
        # Reasons are a JSON list; matching the serialised pair works the same on SQLite
        # and PostgreSQL (with or without a space after the colon) without JSON functions.
        as_text = cast(comments.c.reasons, Text)
        conditions.append(
            or_(
                as_text.like(f'%"category": "{_like_escape(f.category)}"%', escape="\\"),
                as_text.like(f'%"category":"{_like_escape(f.category)}"%', escape="\\"),
            )
        )
    if f.since is not None:
        conditions.append(comments.c.created_at >= start_of(f.since))
    if f.until is not None:
        conditions.append(comments.c.created_at < start_of(f.until + dt.timedelta(days=1)))
    if f.search:
        pattern = f"%{_like_escape(f.search)}%"
        conditions.append(
            or_(
                comments.c.text.ilike(pattern, escape="\\"),
                comments.c.author_name.ilike(pattern, escape="\\"),
                comments.c.author_id.ilike(pattern, escape="\\"),
                comments.c.external_id.ilike(pattern, escape="\\"),
                comments.c.url.ilike(pattern, escape="\\"),
                stories.c.title.ilike(pattern, escape="\\"),
                stories.c.external_id.ilike(pattern, escape="\\"),
                comments.c.id == f.search,
            )
        )
    if f.decided == "human":
        conditions.append(comments.c.human_decision.is_not(None))
    elif f.decided == "automatic":
        conditions.append(comments.c.human_decision.is_(None))
    return conditions


def _order_by(order: str) -> tuple:
    if order == "oldest":
        return (comments.c.created_at.asc(), comments.c.id)
    if order == "score":
        return (
            comments.c.top_score.desc().nulls_last(),
            comments.c.created_at.asc(),
            comments.c.id,
        )
    if order == "reports":
        return (
            comments.c.open_reports.desc(),
            comments.c.report_count.desc(),
            comments.c.created_at.asc(),
            comments.c.id,
        )
    return (comments.c.created_at.desc(), comments.c.id)


def count_comments(conn: Connection, filters: CommentFilter) -> int:
    """How many comments match `filters`."""
    return conn.execute(
        select(func.count())
        .select_from(_joined())
        .where(and_(true(), *_comment_conditions(filters)))
    ).scalar_one()


def list_comments(
    conn: Connection,
    filters: CommentFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    oldest_first: bool = False,
    order: str | None = None,
) -> tuple[list[ReviewComment], int]:
    """One page of comments matching `filters`, and how many match in all.

    `order` is one of ORDERS; without it, oldest first when `oldest_first`, else newest.
    """
    if order is None:
        order = "oldest" if oldest_first else "newest"
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    conditions = _comment_conditions(filters)
    total = count_comments(conn, filters)
    rows = conn.execute(
        comment_select()
        .where(and_(true(), *conditions))
        .order_by(*_order_by(order))
        .limit(limit)
        .offset(offset)
    )
    return [comment_from_row(r) for r in rows], total


def get_comment(conn: Connection, comment_id: str) -> ReviewComment | None:
    """One comment by id, or None."""
    row = conn.execute(comment_select().where(comments.c.id == comment_id)).first()
    return comment_from_row(row) if row else None


def site_names(conn: Connection) -> list[tuple[int, str]]:
    """(id, name) of every site, by name, for filter menus."""
    return [tuple(r) for r in conn.execute(select(sites.c.id, sites.c.name).order_by(sites.c.name))]
