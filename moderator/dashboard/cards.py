"""What a page of comment cards shows besides the comments: authors, reports, appeals.

Read in a handful of queries for the whole page (never one per card): each author's
standing, history counts and latest comments, every card's reader reports and appeals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import Connection

from moderator import storage
from moderator.storage import appeals as appeals_store
from moderator.storage import authors as authors_store
from moderator.storage import reports as reports_store
from moderator.storage.review import ReviewComment

#: How many of an author's latest comments a card lists.
RECENT_PER_AUTHOR = 4


@dataclass(frozen=True)
class CardContext:
    """Per-page extras, keyed so the card macro can look each card's up."""

    now: dt.datetime
    authors: dict[tuple[int, str], authors_store.Author] = field(default_factory=dict)
    histories: dict[tuple[int, str], authors_store.AuthorHistory] = field(default_factory=dict)
    recent: dict[tuple[int, str], list[authors_store.RecentComment]] = field(default_factory=dict)
    reports: dict[str, list[reports_store.Report]] = field(default_factory=dict)
    appeals: dict[str, list[appeals_store.Appeal]] = field(default_factory=dict)

    def author(self, item: ReviewComment) -> authors_store.Author | None:
        """The card's author row, if the comment names an author."""
        return self.authors.get((item.site_id, item.author_id)) if item.author_id else None

    def history(self, item: ReviewComment) -> authors_store.AuthorHistory | None:
        """The card's author's history counts."""
        return self.histories.get((item.site_id, item.author_id)) if item.author_id else None

    def others(self, item: ReviewComment) -> list[authors_store.RecentComment]:
        """The author's latest comments other than this one."""
        if not item.author_id:
            return []
        found = self.recent.get((item.site_id, item.author_id), [])
        return [c for c in found if c.id != item.id][: RECENT_PER_AUTHOR - 1]

    def reports_of(self, item: ReviewComment) -> list[reports_store.Report]:
        """The card's reader reports, oldest first."""
        return self.reports.get(item.id, [])

    def appeal(self, item: ReviewComment) -> appeals_store.Appeal | None:
        """The card's latest appeal."""
        found = self.appeals.get(item.id)
        return found[-1] if found else None


def card_context(conn: Connection, items: Sequence[ReviewComment]) -> CardContext:
    """Everything the cards of `items` show besides the comments themselves."""
    keys = {(i.site_id, i.author_id) for i in items if i.author_id}
    by_site: dict[int, set[str]] = {}
    for site_id, author_id in keys:
        by_site.setdefault(site_id, set()).add(author_id)
    found = {}
    for site_id, ids in by_site.items():
        for author_id, author in authors_store.find_authors(conn, site_id, ids).items():
            found[(site_id, author_id)] = author
    reported = [i.id for i in items if i.report_count]
    rejected = [i.id for i in items if i.status == "reject" or i.human_decision]
    return CardContext(
        now=storage.now(),
        authors=found,
        histories=authors_store.histories(conn, keys) if keys else {},
        recent=authors_store.recent_comments(conn, keys, RECENT_PER_AUTHOR) if keys else {},
        reports=reports_store.reports_for(conn, reported) if reported else {},
        appeals=appeals_store.appeals_of(conn, rejected) if rejected else {},
    )
