"""Change counters: workers cache sites and keys in memory and watch this for changes.

Revision ID: 0008_generations
Revises: 0007_models
Create Date: 2026-11-27

Written to match moderator/storage/tables.py exactly (tests/test_storage.py compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_generations"
down_revision = "0007_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    generations = op.create_table(
        "generations",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_generations")),
    )
    op.bulk_insert(generations, [{"name": "sites", "value": 0}])


def downgrade() -> None:
    op.drop_table("generations")
