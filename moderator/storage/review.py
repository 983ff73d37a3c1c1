"""The dashboard's SQL: the review queue, human decisions, the audit log, stats, label export.

A human decision is one conditional UPDATE (`WHERE human_decision IS NULL AND version = v`)
plus one audit row, in the caller's transaction: when two moderators decide the same
comment, exactly one UPDATE matches and the other sees the comment as already decided.
The audit log is append-only: this module inserts and reads it, nothing updates or deletes it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import Connection
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import and_
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update

from moderator.policy import CATEGORIES
from moderator.storage import audit
from moderator.storage import isoformat
from moderator.storage import now
from moderator.storage import outbox
from moderator.storage import utc
from moderator.storage.tables import audit_log
from moderator.storage.tables import comments
from moderator.storage.tables import sites

#: What a human decision sets the comment's current status to.
STATUS_AFTER = {"approve": "allow", "reject": "reject"}

#: What a moderator may give as the reason for a rejection: the policy categories, then these.
REASON_CODES = (*(str(c) for c in CATEGORIES), "spam", "off-topic", "other")

#: The comment fields a decision changes; the audit log keeps them before and after.
DECISION_FIELDS = ("status", "human_decision", "decided_by", "decided_at", "note", "reason_code")


@dataclass(frozen=True)
class ReviewComment:
    """A stored comment as the dashboard shows it, with its site's name."""

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


@dataclass(frozen=True)
class DecisionOutcome:
    """What happened to one decision: `ok`, or the problem and the comment as it now is."""

    comment: ReviewComment
    ok: bool
    problem: str | None = None  # "already_decided" or "changed"


@dataclass(frozen=True)
class AuditEntry:
    """One audit log row."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    comment_id: str | None
    site_id: int | None
    site_name: str | None
    note: str | None
    before: Mapping | None
    after: Mapping | None

    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for every field whose value differs."""
        before, after = self.before or {}, self.after or {}
        keys = list(before) + [k for k in after if k not in before]
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to show; None means any. `until` is inclusive."""

    actor: str | None = None
    action: str | None = None
    comment_id: str | None = None
    site_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None


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


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _comment(row) -> ReviewComment:
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
    )


def _comment_select():
    return select(comments, sites.c.name.label("site_name")).join(
        sites, sites.c.id == comments.c.site_id
    )


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _comment_conditions(f: CommentFilter) -> list:
    conditions = []
    if f.status is not None:
        conditions.append(comments.c.status == f.status)
    if f.site_id is not None:
        conditions.append(comments.c.site_id == f.site_id)
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
        conditions.append(comments.c.created_at >= _start(f.since))
    if f.until is not None:
        conditions.append(comments.c.created_at < _start(f.until + dt.timedelta(days=1)))
    if f.search:
        pattern = f"%{_like_escape(f.search)}%"
        conditions.append(
            or_(
                comments.c.text.ilike(pattern, escape="\\"),
                comments.c.author_name.ilike(pattern, escape="\\"),
                comments.c.author_id.ilike(pattern, escape="\\"),
                comments.c.external_id.ilike(pattern, escape="\\"),
                comments.c.id == f.search,
            )
        )
    if f.decided == "human":
        conditions.append(comments.c.human_decision.is_not(None))
    elif f.decided == "automatic":
        conditions.append(comments.c.human_decision.is_(None))
    return conditions


def list_comments(
    conn: Connection,
    filters: CommentFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    oldest_first: bool = False,
) -> tuple[list[ReviewComment], int]:
    """One page of comments matching `filters`, and how many match in all."""
    conditions = _comment_conditions(filters)
    total = conn.execute(
        select(func.count()).select_from(comments).where(and_(true(), *conditions))
    ).scalar_one()
    order = comments.c.created_at.asc() if oldest_first else comments.c.created_at.desc()
    rows = conn.execute(
        _comment_select()
        .where(and_(true(), *conditions))
        .order_by(order, comments.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_comment(r) for r in rows], total


def get_comment(conn: Connection, comment_id: str) -> ReviewComment | None:
    """One comment by id, or None."""
    row = conn.execute(_comment_select().where(comments.c.id == comment_id)).first()
    return _comment(row) if row else None


def decide_comment(
    conn: Connection,
    comment_id: str,
    *,
    decision: str,
    actor: str,
    note: str | None = None,
    reason_code: str | None = None,
    expected_version: int | None = None,
) -> DecisionOutcome | None:
    """Record a person's approve/reject and its audit row; None when there is no such comment.

    Only a comment nobody has decided yet can be decided, and with `expected_version` only
    the version the moderator was looking at. The UPDATE itself carries both conditions, so
    two concurrent decisions can't both succeed whatever the isolation level.
    """
    if decision not in STATUS_AFTER:
        raise ValueError(f"decision must be approve or reject, got {decision!r}")
    before = get_comment(conn, comment_id)
    if before is None:
        return None
    if before.human_decision is not None:
        return DecisionOutcome(before, ok=False, problem="already_decided")
    if expected_version is not None and expected_version != before.version:
        return DecisionOutcome(before, ok=False, problem="changed")
    decided_at = now()
    values = {
        "status": STATUS_AFTER[decision],
        "human_decision": decision,
        "decided_by": actor,
        "decided_at": decided_at,
        "note": note or None,
        "reason_code": reason_code or None,
    }
    result = conn.execute(
        update(comments)
        .where(
            comments.c.id == comment_id,
            comments.c.human_decision.is_(None),
            comments.c.version == before.version,
        )
        .values(**values, version=comments.c.version + 1)
    )
    if result.rowcount != 1:
        # Another request won between our read and our write.
        current = get_comment(conn, comment_id)
        problem = "already_decided" if current.human_decision is not None else "changed"
        return DecisionOutcome(current, ok=False, problem=problem)
    after = get_comment(conn, comment_id)
    # In this transaction: the site hears of the decision exactly when it is recorded.
    outbox.enqueue(
        conn,
        after.site_id,
        "comment.decided",
        after.id,
        outbox.human_decision_data(after),
        note=after.note,
    )
    audit.record(
        conn,
        actor,
        f"comment.{decision}",
        comment_id=comment_id,
        site_id=before.site_id,
        note=note or None,
        before=before.snapshot(),
        after=after.snapshot(),
    )
    return DecisionOutcome(after, ok=True)


# -- audit log ------------------------------------------------------------------------------------


def _audit_conditions(f: AuditFilter) -> list:
    conditions = []
    if f.actor:
        conditions.append(audit_log.c.actor == f.actor)
    if f.action:
        conditions.append(audit_log.c.action == f.action)
    if f.comment_id:
        conditions.append(audit_log.c.comment_id == f.comment_id)
    if f.site_id is not None:
        conditions.append(audit_log.c.site_id == f.site_id)
    if f.since is not None:
        conditions.append(audit_log.c.at >= _start(f.since))
    if f.until is not None:
        conditions.append(audit_log.c.at < _start(f.until + dt.timedelta(days=1)))
    return conditions


def _audit_entry(row) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=utc(row.at),
        actor=row.actor,
        action=row.action,
        comment_id=row.comment_id,
        site_id=row.site_id,
        site_name=row.site_name,
        note=row.note,
        before=row.before if isinstance(row.before, dict) else None,
        after=row.after if isinstance(row.after, dict) else None,
    )


def audit_entries(
    conn: Connection, filters: AuditFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """One page of audit rows, newest first, and how many match in all."""
    conditions = _audit_conditions(filters)
    total = conn.execute(
        select(func.count()).select_from(audit_log).where(and_(true(), *conditions))
    ).scalar_one()
    rows = conn.execute(
        select(audit_log, sites.c.name.label("site_name"))
        .outerjoin(sites, sites.c.id == audit_log.c.site_id)
        .where(and_(true(), *conditions))
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_audit_entry(r) for r in rows], total


def audit_actions(conn: Connection) -> list[str]:
    """Every action name that appears in the log, for the filter menu."""
    return list(
        conn.execute(select(audit_log.c.action).distinct().order_by(audit_log.c.action)).scalars()
    )


def site_names(conn: Connection) -> list[tuple[int, str]]:
    """(id, name) of every site, by name, for filter menus."""
    return [tuple(r) for r in conn.execute(select(sites.c.id, sites.c.name).order_by(sites.c.name))]


# -- stats ----------------------------------------------------------------------------------------


def _day(conn: Connection, column):
    if conn.dialect.name == "postgresql":
        return cast(func.date(func.timezone("UTC", column)), String)
    return func.date(column)


def decision_stats(conn: Connection, since: dt.date) -> Stats:
    """Automatic and human decisions since `since` (UTC), by day, category and outcome."""
    start = _start(since)
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
    return stats


# -- label export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HumanLabel:
    """One human decision, as export-labels needs it."""

    comment_id: str
    site_name: str
    text: str
    human_decision: str
    reason_code: str | None
    decided_by: str | None
    decided_at: dt.datetime
    language: str | None = None


def human_labels(
    conn: Connection, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[HumanLabel]:
    """Every human-decided comment decided in [since, until), oldest decision first."""
    query = (
        select(
            comments.c.id,
            sites.c.name,
            comments.c.text,
            comments.c.human_decision,
            comments.c.reason_code,
            comments.c.decided_by,
            comments.c.decided_at,
            comments.c.language,
        )
        .join(sites, sites.c.id == comments.c.site_id)
        .where(comments.c.human_decision.is_not(None))
        .order_by(comments.c.decided_at, comments.c.id)
    )
    if since is not None:
        query = query.where(comments.c.decided_at >= since)
    if until is not None:
        query = query.where(comments.c.decided_at < until)
    for row in conn.execute(query):
        yield HumanLabel(
            comment_id=row.id,
            site_name=row.name,
            text=row.text,
            human_decision=row.human_decision,
            reason_code=row.reason_code,
            decided_by=row.decided_by,
            decided_at=utc(row.decided_at),
            language=row.language,
        )
