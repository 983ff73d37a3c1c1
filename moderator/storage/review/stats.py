"""The stats page's numbers: decisions by day, category and outcome; reports and appeals."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import Connection
from sqlalchemy import String
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import select

from moderator.storage.review.queue import start_of
from moderator.storage.tables import appeals
from moderator.storage.tables import comments
from moderator.storage.tables import reports


@dataclass
class Stats:
    """The stats page's numbers for one period."""

    since: dt.datetime
    automatic_by_day: dict[str, Counter] = field(default_factory=dict)
    human_by_day: dict[str, Counter] = field(default_factory=dict)
    automatic_by_category: Counter = field(default_factory=Counter)
    human_by_reason: Counter = field(default_factory=Counter)
    automatic_totals: Counter = field(default_factory=Counter)
    human_totals: Counter = field(default_factory=Counter)
    # (automatic decision, human decision) -> count, for comments decided in the period
    outcomes: Counter = field(default_factory=Counter)
    pending: int = 0
    #: Appeals opened in the period, and resolved in it: "opened", "upheld", "reversed".
    appeals: Counter = field(default_factory=Counter)
    #: Appeals waiting for a moderator now.
    appeals_open: int = 0
    #: Reader reports received in the period, and how many comments they were about.
    reports: int = 0
    reported_comments: int = 0
    #: Reported comments a person rejected in the period.
    reported_rejected: int = 0

    @property
    def overturned(self) -> int:
        """Automatic allows a person rejected plus automatic rejects a person approved."""
        return self.outcomes[("allow", "reject")] + self.outcomes[("reject", "approve")]

    @property
    def reviewed_automatic(self) -> int:
        """Human decisions on comments the model had allowed or rejected by itself."""
        return sum(n for (auto, _), n in self.outcomes.items() if auto in ("allow", "reject"))

    @property
    def overturn_rate(self) -> float | None:
        """overturned / reviewed_automatic, or None when nothing was reviewed."""
        total = self.reviewed_automatic
        return self.overturned / total if total else None

    @property
    def hold_confirm_rate(self) -> float | None:
        """Share of decided holds that a person rejected (the model's flag confirmed)."""
        total = self.outcomes[("hold", "approve")] + self.outcomes[("hold", "reject")]
        return self.outcomes[("hold", "reject")] / total if total else None

    @property
    def appeal_reversal_rate(self) -> float | None:
        """Share of appeals resolved in the period that reversed the decision."""
        resolved = self.appeals["upheld"] + self.appeals["reversed"]
        return self.appeals["reversed"] / resolved if resolved else None


def _day(conn: Connection, column):
    if conn.dialect.name == "postgresql":
        return cast(func.date(func.timezone("UTC", column)), String)
    return func.date(column)


def decision_stats(conn: Connection, since: dt.date) -> Stats:
    """Automatic and human decisions since `since` (UTC), by day, category and outcome."""
    start = start_of(since)
    stats = Stats(since=start)
    day = _day(conn, comments.c.created_at)
    for d, decision, n in conn.execute(
        select(day, comments.c.decision, func.count())
        .where(comments.c.created_at >= start)
        .group_by(day, comments.c.decision)
    ):
        stats.automatic_by_day.setdefault(str(d), Counter())[decision] += n
        stats.automatic_totals[decision] += n
    day = _day(conn, comments.c.decided_at)
    for d, decision, n in conn.execute(
        select(day, comments.c.human_decision, func.count())
        .where(comments.c.decided_at >= start, comments.c.human_decision.is_not(None))
        .group_by(day, comments.c.human_decision)
    ):
        stats.human_by_day.setdefault(str(d), Counter())[decision] += n
        stats.human_totals[decision] += n
    for auto, human, n in conn.execute(
        select(comments.c.decision, comments.c.human_decision, func.count())
        .where(comments.c.decided_at >= start, comments.c.human_decision.is_not(None))
        .group_by(comments.c.decision, comments.c.human_decision)
    ):
        stats.outcomes[(auto, human)] += n
    for code, n in conn.execute(
        select(comments.c.reason_code, func.count())
        .where(comments.c.decided_at >= start, comments.c.human_decision == "reject")
        .group_by(comments.c.reason_code)
    ):
        stats.human_by_reason[code or "(none)"] += n
    # Categories live inside the reasons JSON; counting in Python keeps one query for both
    # databases, and only held or rejected comments carry reasons.
    for (reasons,) in conn.execute(
        select(comments.c.reasons).where(
            comments.c.created_at >= start, comments.c.decision != "allow"
        )
    ):
        seen = {r.get("category") for r in reasons or () if isinstance(r, dict)}
        for category in seen:
            if isinstance(category, str):
                stats.automatic_by_category[category] += 1
    stats.pending = conn.execute(
        select(func.count())
        .select_from(comments)
        .where(comments.c.status == "hold", comments.c.human_decision.is_(None))
    ).scalar_one()
    _appeal_and_report_stats(conn, start, stats)
    return stats


def _appeal_and_report_stats(conn: Connection, start: dt.datetime, stats: Stats) -> None:
    stats.appeals["opened"] = conn.execute(
        select(func.count()).select_from(appeals).where(appeals.c.created_at >= start)
    ).scalar_one()
    for status, n in conn.execute(
        select(appeals.c.status, func.count())
        .where(appeals.c.resolved_at >= start, appeals.c.status != "open")
        .group_by(appeals.c.status)
    ):
        stats.appeals[status] += n
    stats.appeals_open = conn.execute(
        select(func.count()).select_from(appeals).where(appeals.c.status == "open")
    ).scalar_one()
    stats.reports, stats.reported_comments = conn.execute(
        select(func.count(), func.count(reports.c.comment_id.distinct())).where(
            reports.c.created_at >= start
        )
    ).one()
    stats.reported_rejected = conn.execute(
        select(func.count())
        .select_from(comments)
        .where(
            comments.c.report_count > 0,
            comments.c.human_decision == "reject",
            comments.c.decided_at >= start,
        )
    ).scalar_one()
