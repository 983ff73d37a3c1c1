"""Sites: wordlist_action, what the default word list's reject-tier words do (reject or hold).

Revision ID: 0002_wordlist_action
Revises: 0001
Create Date: 2026-11-26

Existing sites keep today's behaviour (`reject`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_wordlist_action"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column(
                "wordlist_action",
                sa.String(length=10),
                nullable=False,
                server_default=sa.text("'reject'"),
            )
        )
        batch.create_check_constraint("wordlist_action", "wordlist_action IN ('reject', 'hold')")


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_constraint(op.f("ck_sites_wordlist_action"), type_="check")
        batch.drop_column("wordlist_action")
