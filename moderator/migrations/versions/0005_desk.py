"""The moderation desk: authors, stories, reader reports, appeals, key rotation.

Revision ID: 0005_desk
Revises: 0004_coral_webhooks
Create Date: 2026-11-27

New tables `stories`, `authors`, `reports` and `appeals`; comments gain their story, their
highest score (the queue's score order) and report counts; sites gain the report threshold,
the appeal window, new-author pre-moderation and the previous key of a rotation; audit rows
gain a subject ("author:7"). Existing comments are linked: an author row per (site, author
id), a story per (site, url), and top_score from the stored scores.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005_desk"
down_revision = "0004_coral_webhooks"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column("report_threshold", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch.add_column(
            sa.Column("appeal_days", sa.Integer(), nullable=False, server_default=sa.text("14"))
        )
        batch.add_column(
            sa.Column(
                "new_author_premoderation",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("0"),
            )
        )
        batch.add_column(sa.Column("previous_key_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("previous_key_prefix", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("previous_key_expires_at", Timestamp, nullable=True))
        batch.create_check_constraint("report_threshold", "report_threshold >= 1")
        batch.create_check_constraint("appeal_days", "appeal_days >= 0")
        batch.create_check_constraint("new_author_premoderation", "new_author_premoderation >= 0")
        batch.create_index("ix_sites_previous_key_hash", ["previous_key_hash"])

    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_comment_at", Timestamp, nullable=True),
        sa.Column("premoderated_at", Timestamp, nullable=True),
        sa.Column("premoderated_by", sa.String(length=200), nullable=True),
        sa.Column("premoderation_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_stories_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("site_id", "key_hash", name=op.f("uq_stories_site_id_key_hash")),
    )
    op.create_index("ix_stories_site_id_last_comment_at", "stories", ["site_id", "last_comment_at"])

    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("first_seen_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.Column("banned_at", Timestamp, nullable=True),
        sa.Column("ban_reason", sa.Text(), nullable=True),
        sa.Column("suspended_until", Timestamp, nullable=True),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("premoderated_at", Timestamp, nullable=True),
        sa.Column("premoderation_reason", sa.Text(), nullable=True),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.Column("warned_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_authors_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
        sa.UniqueConstraint("site_id", "external_id", name=op.f("uq_authors_site_id_external_id")),
    )

    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("story", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("top_score", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("report_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(
            sa.Column("open_reports", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.create_foreign_key(op.f("fk_comments_story_stories"), "stories", ["story"], ["id"])
        batch.create_index("ix_comments_site_id_author_id", ["site_id", "author_id"])
        batch.create_index("ix_comments_story_created_at", ["story", "created_at"])
        batch.create_index("ix_comments_open_reports", ["open_reports"])

    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
        batch.create_index("ix_audit_log_subject", ["subject"])

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.CheckConstraint(
            "reason IN ('abuse', 'spam', 'off_topic', 'harassment', 'misinformation', 'other')",
            name=op.f("ck_reports_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_reports_comment_id_comments")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_reports_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "comment_id", "reporter_id", name=op.f("uq_reports_comment_id_reporter_id")
        ),
    )
    op.create_index(
        "ix_reports_site_id_reporter_id_created_at",
        "reports",
        ["site_id", "reporter_id", "created_at"],
    )

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("decision_at", Timestamp, nullable=False),
        sa.Column("decided_by", sa.String(length=150), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolved_by", sa.String(length=150), nullable=True),
        sa.Column("resolved_at", Timestamp, nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'reversed')", name=op.f("ck_appeals_status")
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_appeals_comment_id_comments")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_appeals_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint(
            "comment_id", "decision_at", name=op.f("uq_appeals_comment_id_decision_at")
        ),
    )
    op.create_index("ix_appeals_status_created_at", "appeals", ["status", "created_at"])

    _link_existing_comments()


def _link_existing_comments() -> None:
    """Authors, stories and top scores for the comments stored before this revision."""
    conn = op.get_bind()
    comments = sa.table(
        "comments",
        sa.column("id", sa.String),
        sa.column("site_id", sa.Integer),
        sa.column("author_id", sa.String),
        sa.column("author_name", sa.String),
        sa.column("url", sa.Text),
        sa.column("scores", sa.JSON),
        sa.column("created_at", Timestamp),
        sa.column("story", sa.Integer),
        sa.column("top_score", sa.Float),
    )
    authors = sa.table(
        "authors",
        sa.column("site_id", sa.Integer),
        sa.column("external_id", sa.String),
        sa.column("name", sa.String),
        sa.column("first_seen_at", Timestamp),
        sa.column("last_seen_at", Timestamp),
    )
    stories = sa.table(
        "stories",
        sa.column("id", sa.Integer),
        sa.column("site_id", sa.Integer),
        sa.column("key_hash", sa.String),
        sa.column("url", sa.Text),
        sa.column("created_at", Timestamp),
        sa.column("last_comment_at", Timestamp),
    )
    for site_id, author_id, first, last in conn.execute(
        sa.select(
            comments.c.site_id,
            comments.c.author_id,
            sa.func.min(comments.c.created_at),
            sa.func.max(comments.c.created_at),
        )
        .where(comments.c.author_id.is_not(None))
        .group_by(comments.c.site_id, comments.c.author_id)
    ).all():
        name = conn.execute(
            sa.select(comments.c.author_name)
            .where(comments.c.site_id == site_id, comments.c.author_id == author_id)
            .order_by(comments.c.created_at.desc())
            .limit(1)
        ).scalar()
        conn.execute(
            authors.insert().values(
                site_id=site_id,
                external_id=author_id,
                name=name,
                first_seen_at=first,
                last_seen_at=last,
            )
        )
    for site_id, url, first, last in conn.execute(
        sa.select(
            comments.c.site_id,
            comments.c.url,
            sa.func.min(comments.c.created_at),
            sa.func.max(comments.c.created_at),
        )
        .where(comments.c.url.is_not(None))
        .group_by(comments.c.site_id, comments.c.url)
    ).all():
        key_hash = hashlib.sha256(f"url:{url}".encode("utf-8", "surrogatepass")).hexdigest()
        story_id = conn.execute(
            stories.insert()
            .values(
                site_id=site_id, key_hash=key_hash, url=url, created_at=first, last_comment_at=last
            )
            .returning(stories.c.id)
        ).scalar_one()
        conn.execute(
            comments.update()
            .where(comments.c.site_id == site_id, comments.c.url == url)
            .values(story=story_id)
        )
    for comment_id, scores in conn.execute(
        sa.select(comments.c.id, comments.c.scores).where(comments.c.scores.is_not(None))
    ).all():
        values = [v for v in (scores or {}).values() if isinstance(v, int | float)]
        if values:
            conn.execute(
                comments.update().where(comments.c.id == comment_id).values(top_score=max(values))
            )


def downgrade() -> None:
    op.drop_index("ix_appeals_status_created_at", table_name="appeals")
    op.drop_table("appeals")
    op.drop_index("ix_reports_site_id_reporter_id_created_at", table_name="reports")
    op.drop_table("reports")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_subject")
        batch.drop_column("subject")
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_open_reports")
        batch.drop_index("ix_comments_story_created_at")
        batch.drop_index("ix_comments_site_id_author_id")
        batch.drop_constraint(op.f("fk_comments_story_stories"), type_="foreignkey")
        batch.drop_column("open_reports")
        batch.drop_column("report_count")
        batch.drop_column("top_score")
        batch.drop_column("story")
    op.drop_table("authors")
    op.drop_index("ix_stories_site_id_last_comment_at", table_name="stories")
    op.drop_table("stories")
    with op.batch_alter_table("sites") as batch:
        batch.drop_index("ix_sites_previous_key_hash")
        batch.drop_constraint(op.f("ck_sites_new_author_premoderation"), type_="check")
        batch.drop_constraint(op.f("ck_sites_appeal_days"), type_="check")
        batch.drop_constraint(op.f("ck_sites_report_threshold"), type_="check")
        batch.drop_column("previous_key_expires_at")
        batch.drop_column("previous_key_prefix")
        batch.drop_column("previous_key_hash")
        batch.drop_column("new_author_premoderation")
        batch.drop_column("appeal_days")
        batch.drop_column("report_threshold")
