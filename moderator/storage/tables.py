"""The schema as SQLAlchemy Core tables on one MetaData (the first migration creates them).

The same definitions run on SQLite and PostgreSQL. Timestamps are stored in UTC; SQLite
hands them back naive, so readers pass them through `storage.utc()`.
"""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import text

# Named constraints so Alembic migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = DateTime(timezone=True)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    Column("thresholds", JSON, nullable=True),
    Column("block_words", JSON, nullable=False),
    Column("suspect_words", JSON, nullable=False),
    Column("allow_words", JSON, nullable=False),
    # What happens to a comment in a language the model wasn't trained for: hold or allow.
    Column(
        "unsupported_language",
        String(10),
        nullable=False,
        default="hold",
        server_default=text("'hold'"),
    ),
    # Perspective door: lift TOXICITY to the site's hold/reject threshold when we hold/reject.
    Column(
        "perspective_reflects_decision",
        Boolean,
        nullable=False,
        default=False,
        server_default=false(),
    ),
    CheckConstraint("unsupported_language IN ('hold', 'allow')", name="unsupported_language"),
    # What the default word list's reject-tier words do for this site (rules/defaults.py).
    Column("wordlist_action", String(10), nullable=False, server_default=text("'reject'")),
    # Open reader reports that put an allowed comment into the Reported queue.
    Column("report_threshold", Integer, nullable=False, server_default=text("1")),
    # Days after a rejection in which its author may appeal it (0: no appeals).
    Column("appeal_days", Integer, nullable=False, server_default=text("14")),
    # Hold each author's first N comments on this site (0: off; Coral's "new commenter").
    Column("new_author_premoderation", Integer, nullable=False, server_default=text("0")),
    # The key before the last rotation, which keeps working until previous_key_expires_at.
    Column("previous_key_hash", String(64), nullable=True),
    Column("previous_key_prefix", String(16), nullable=True),
    Column("previous_key_expires_at", Timestamp, nullable=True),
    CheckConstraint("wordlist_action IN ('reject', 'hold')", name="wordlist_action"),
    # The languages the site accepts (ISO 639-1 codes, first = an undetermined comment's);
    # NULL: every language the service has a model for.
    Column("languages", JSON, nullable=True),
    CheckConstraint("report_threshold >= 1", name="report_threshold"),
    CheckConstraint("appeal_days >= 0", name="appeal_days"),
    CheckConstraint("new_author_premoderation >= 0", name="new_author_premoderation"),
    Index("ix_sites_previous_key_hash", "previous_key_hash"),
)

#: A story (article) comments are posted under: the site's story_id, else its URL, names it.
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    # sha256 of "id:<story_id>" or "url:<url>": URLs can be longer than an index entry.
    Column("key_hash", String(64), nullable=False),
    Column("external_id", String(255), nullable=True),
    Column("url", Text, nullable=True),
    Column("title", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("last_comment_at", Timestamp, nullable=True),
    # Set while every new comment on the story is held for a moderator.
    Column("premoderated_at", Timestamp, nullable=True),
    Column("premoderated_by", String(200), nullable=True),
    Column("premoderation_reason", Text, nullable=True),
    UniqueConstraint("site_id", "key_hash"),
    Index("ix_stories_site_id_last_comment_at", "site_id", "last_comment_at"),
)

#: A comment author as a site identifies them, with the moderators' actions on them.
authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("name", String(255), nullable=True),
    Column("first_seen_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("banned_at", Timestamp, nullable=True),
    Column("ban_reason", Text, nullable=True),
    Column("suspended_until", Timestamp, nullable=True),
    Column("suspension_reason", Text, nullable=True),
    Column("premoderated_at", Timestamp, nullable=True),
    Column("premoderation_reason", Text, nullable=True),
    Column("warning", Text, nullable=True),
    Column("warned_at", Timestamp, nullable=True),
    UniqueConstraint("site_id", "external_id"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("external_id", String(255), nullable=True),
    Column("text", Text, nullable=False),
    Column("author_id", String(255), nullable=True),
    Column("author_name", String(255), nullable=True),
    Column("url", Text, nullable=True),
    Column("parent_text", Text, nullable=True),
    Column("decision", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("scores", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("model", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("human_decision", String(10), nullable=True),
    Column("decided_by", String(150), nullable=True),
    Column("decided_at", Timestamp, nullable=True),
    Column("note", Text, nullable=True),
    Column("reason_code", String(100), nullable=True),
    Column("version", Integer, nullable=False, default=1, server_default=text("1")),
    # The identified language (ISO 639-1), NULL when it could not be determined.
    Column("language", String(16), nullable=True),
    # Which door the comment came in by: api, perspective, coral, suggestscore (NULL: api).
    Column("door", String(20), nullable=True),
    # Ids the other system gave it (Coral's story, site, tenant, parent; Perspective's
    # communityId and sessionId), kept to trace the comment back.
    Column("context", JSON, nullable=True),
    Column("story", Integer, ForeignKey("stories.id"), nullable=True),
    # The highest category score, for the queue's "highest score first" order.
    Column("top_score", Float, nullable=True),
    # Reader reports in all, and those since a moderator last reviewed the comment.
    Column("report_count", Integer, nullable=False, default=0, server_default=text("0")),
    Column("open_reports", Integer, nullable=False, default=0, server_default=text("0")),
    UniqueConstraint("site_id", "external_id"),
    CheckConstraint("decision IN ('allow', 'hold', 'reject')", name="decision"),
    CheckConstraint("status IN ('allow', 'hold', 'reject')", name="status"),
    CheckConstraint("human_decision IN ('approve', 'reject')", name="human_decision"),
    Index("ix_comments_status_created_at", "status", "created_at"),
    Index("ix_comments_site_id_created_at", "site_id", "created_at"),
    Index("ix_comments_site_id_author_id", "site_id", "author_id"),
    Index("ix_comments_story_created_at", "story", "created_at"),
    Index("ix_comments_open_reports", "open_reports"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False, server_default=false()),
    CheckConstraint("role IN ('admin', 'moderator')", name="role"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Timestamp, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    # No foreign key: the audit trail outlives a comment deleted under a retention policy.
    Column("comment_id", String(36), nullable=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=True),
    Column("note", Text, nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    # What else the row is about: "author:<id>", "story:<id>", "appeal:<id>" (our ids).
    Column("subject", String(64), nullable=True),
    Index("ix_audit_log_comment_id", "comment_id"),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_subject", "subject"),
)

#: One reader's report of one comment (a reader reports a comment once).
reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("comment_id", String(36), ForeignKey("comments.id"), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("reporter_id", String(255), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("text", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("comment_id", "reporter_id"),
    CheckConstraint(
        "reason IN ('abuse', 'spam', 'off_topic', 'harassment', 'misinformation', 'other')",
        name="reason",
    ),
    Index("ix_reports_site_id_reporter_id_created_at", "site_id", "reporter_id", "created_at"),
)

#: An author's appeal of one decision on their comment (DSA Art. 20): one per decision.
appeals = Table(
    "appeals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("comment_id", String(36), ForeignKey("comments.id"), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    # Which decision: when it was made, and by whom (NULL: the automatic decision).
    Column("decision_at", Timestamp, nullable=False),
    Column("decided_by", String(150), nullable=True),
    Column("text", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("status", String(10), nullable=False),
    Column("resolved_by", String(150), nullable=True),
    Column("resolved_at", Timestamp, nullable=True),
    Column("resolution_note", Text, nullable=True),
    UniqueConstraint("comment_id", "decision_at"),
    CheckConstraint("status IN ('open', 'upheld', 'reversed')", name="status"),
    Index("ix_appeals_status_created_at", "status", "created_at"),
)

#: Secrets another system signs its requests to us with (Coral's external moderation phase
#: and Coral's webhooks). Kept in clear: checking an HMAC needs the secret itself.
site_secrets = Table(
    "site_secrets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    # A short random label to name the secret by, so the secret itself is never shown again.
    Column("label", String(16), nullable=False, unique=True),
    Column("secret", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=True),
    CheckConstraint("kind IN ('coral_phase', 'coral_webhook')", name="kind"),
    Index("ix_site_secrets_site_id_kind", "site_id", "kind"),
)

#: Where a site wants to hear about decisions (Standard Webhooks, signed with `secret`).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("events", JSON, nullable=False),
    Column("include_note", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", Timestamp, nullable=False),
    Column("disabled_at", Timestamp, nullable=True),
)

#: The outbox: one row per event and endpoint, written in the decision's own transaction,
#: then delivered (and retried with backoff) by the webhook worker.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The Standard Webhooks message id (webhook-id header), the same on every retry.
    Column("id", String(40), primary_key=True),
    Column("endpoint_id", Integer, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("event_type", String(40), nullable=False),
    # No foreign key: the record of what was sent outlives a comment deleted later.
    Column("comment_id", String(36), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    Column("created_at", Timestamp, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    # A worker that claims a delivery owns it until then (a crashed worker's claim lapses).
    Column("locked_until", Timestamp, nullable=True),
    Column("delivered_at", Timestamp, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
)

#: Every delivery attempt: when, the receiver's status code or the error, how long it took.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_attempts_delivery_id", "delivery_id"),
)

#: Which model serves: every promotion, newest last. The newest row with no site is the
#: shared model every worker serves (each checks it at most once a second); a row with a site
#: is that site's own layer over the shared model.
model_promotions = Table(
    "model_promotions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Timestamp, nullable=False),
    Column("actor", String(200), nullable=False),
    # name@version from model.json, for people; the path and the digest (sha256 over
    # model.joblib and model.json, moderator.serving.model_digest) are what workers load.
    Column("label", String(200), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("language", String(16), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=True),
    Column("reason", Text, nullable=False),
    # The compare report's verdict and reasons (NULL: promoted without the gate).
    Column("gate", JSON, nullable=True),
    # A site layer's parameters (moderator/sitelayer.py); NULL for a shared model.
    Column("layer", JSON, nullable=True),
    Index("ix_model_promotions_site_id_id", "site_id", "id"),
)

#: Change counters, one row per cached thing ("sites": every site and key change). Workers
#: keep such things in memory and read the counter at most every few hundred milliseconds
#: (MODERATOR_SITE_CACHE_SECONDS); a changed counter empties their cache.
generations = Table(
    "generations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# One row per dashboard login. The session cookie holds a random token; only its sha256 is
# stored, so a copied cookie stops working the moment its row is gone (logout, password
# change, disabled account, "log out everywhere", expiry).
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("seen_at", Timestamp, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
)
