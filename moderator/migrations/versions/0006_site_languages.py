"""Languages a site accepts (routing to the German, Portuguese and Turkish models).

Revision ID: 0006_site_languages
Revises: 0005_desk
Create Date: 2026-11-27

Written to match moderator/storage/tables.py exactly (tests/test_storage.py compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_site_languages"
down_revision = "0005_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("languages")
