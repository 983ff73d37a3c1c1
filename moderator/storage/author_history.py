"""An author's history on a site: how their comments fared, and their latest comments.

Counted from the comments table (indexed by site and author id), in one query per site
for a whole page of authors; storage.authors re-exports these for its callers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from moderator.storage import utc
from moderator.storage.tables import comments


@dataclass(frozen=True)
class AuthorHistory:
    """How an author's comments on one site fared."""

    total: int = 0
    allowed: int = 0
    held: int = 0
    rejected: int = 0
    approved_by_person: int = 0
    rejected_by_person: int = 0
    reported: int = 0

    def to_dict(self) -> dict:
        """`{"total", "allowed", "held", "rejected", "approved_by_person", ...}`."""
        return {
            "total": self.total,
            "allowed": self.allowed,
            "held": self.held,
            "rejected": self.rejected,
            "approved_by_person": self.approved_by_person,
            "rejected_by_person": self.rejected_by_person,
            "reported": self.reported,
        }


@dataclass(frozen=True)
class RecentComment:
    """One of an author's recent comments, as a card lists it."""

    id: str
    text: str
    status: str
    human_decision: str | None
    created_at: dt.datetime


def allowed_counts(conn: Connection, site_id: int, external_ids: Iterable[str]) -> Counter:
    """How many of each author's comments on the site are allowed (shown) now."""
    wanted = sorted(set(external_ids))
    counts: Counter = Counter()
    for start in range(0, len(wanted), 500):
        for author_id, n in conn.execute(
            select(comments.c.author_id, func.count())
            .where(
                comments.c.site_id == site_id,
                comments.c.status == "allow",
                comments.c.author_id.in_(wanted[start : start + 500]),
            )
            .group_by(comments.c.author_id)
        ):
            counts[author_id] = n
    return counts


def histories(
    conn: Connection, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], AuthorHistory]:
    """Each (site id, author id)'s history counts, in one query per site."""
    by_site: dict[int, set[str]] = {}
    for site_id, external_id in keys:
        by_site.setdefault(site_id, set()).add(external_id)
    found: dict[tuple[int, str], Counter] = {}
    for site_id, ids in by_site.items():
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                select(
                    comments.c.author_id,
                    comments.c.status,
                    comments.c.human_decision,
                    func.count(),
                    func.sum(case((comments.c.report_count > 0, 1), else_=0)),
                )
                .where(
                    comments.c.site_id == site_id,
                    comments.c.author_id.in_(wanted[start : start + 500]),
                )
                .group_by(comments.c.author_id, comments.c.status, comments.c.human_decision)
            )
            for author_id, status, human, n, reported in rows:
                counts = found.setdefault((site_id, author_id), Counter())
                counts["total"] += n
                counts[{"allow": "allowed", "hold": "held", "reject": "rejected"}[status]] += n
                if human == "approve":
                    counts["approved_by_person"] += n
                elif human == "reject":
                    counts["rejected_by_person"] += n
                counts["reported"] += reported or 0
    return {key: AuthorHistory(**counts) for key, counts in found.items()}


def recent_comments(
    conn: Connection, keys: Iterable[tuple[int, str]], per_author: int = 3
) -> dict[tuple[int, str], list[RecentComment]]:
    """Each (site id, author id)'s newest comments, at most `per_author` each, in one query."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=(comments.c.site_id, comments.c.author_id),
            order_by=(comments.c.created_at.desc(), comments.c.id),
        )
        .label("rank")
    )
    found: dict[tuple[int, str], list[RecentComment]] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        ranked = (
            select(
                comments.c.id,
                comments.c.site_id,
                comments.c.author_id,
                comments.c.text,
                comments.c.status,
                comments.c.human_decision,
                comments.c.created_at,
                rank,
            )
            .where(
                or_(*(and_(comments.c.site_id == s, comments.c.author_id == a) for s, a in chunk))
            )
            .subquery()
        )
        rows = conn.execute(
            select(ranked)
            .where(ranked.c.rank <= per_author)
            .order_by(ranked.c.site_id, ranked.c.author_id, ranked.c.rank)
        )
        for row in rows:
            found.setdefault((row.site_id, row.author_id), []).append(
                RecentComment(
                    id=row.id,
                    text=row.text,
                    status=row.status,
                    human_decision=row.human_decision,
                    created_at=utc(row.created_at),
                )
            )
    return found
