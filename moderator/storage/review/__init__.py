"""The dashboard's SQL: the review lists, human decisions, the audit log, stats, label export.

`queue` (which comments a page shows, and in which order), `decisions` (approve/reject with
its audit row), `auditlog` (reading the log), `stats` and `labels` (export-labels). The
names are re-exported here, so callers write `review.list_comments(...)`.
"""

from __future__ import annotations

from moderator.storage.review.auditlog import AuditEntry
from moderator.storage.review.auditlog import AuditFilter
from moderator.storage.review.auditlog import audit_actions
from moderator.storage.review.auditlog import audit_entries
from moderator.storage.review.decisions import REASON_CODES
from moderator.storage.review.decisions import STATUS_AFTER
from moderator.storage.review.decisions import DecisionOutcome
from moderator.storage.review.decisions import decide_comment
from moderator.storage.review.decisions import reviewable_condition
from moderator.storage.review.labels import HumanLabel
from moderator.storage.review.labels import human_labels
from moderator.storage.review.queue import DECISION_FIELDS
from moderator.storage.review.queue import ORDERS
from moderator.storage.review.queue import CommentFilter
from moderator.storage.review.queue import ReviewComment
from moderator.storage.review.queue import comment_select
from moderator.storage.review.queue import count_comments
from moderator.storage.review.queue import get_comment
from moderator.storage.review.queue import list_comments
from moderator.storage.review.queue import site_names
from moderator.storage.review.stats import Stats
from moderator.storage.review.stats import decision_stats

__all__ = [
    "DECISION_FIELDS",
    "ORDERS",
    "REASON_CODES",
    "STATUS_AFTER",
    "AuditEntry",
    "AuditFilter",
    "CommentFilter",
    "DecisionOutcome",
    "HumanLabel",
    "ReviewComment",
    "Stats",
    "audit_actions",
    "audit_entries",
    "comment_select",
    "count_comments",
    "decide_comment",
    "decision_stats",
    "get_comment",
    "human_labels",
    "list_comments",
    "reviewable_condition",
    "site_names",
]
