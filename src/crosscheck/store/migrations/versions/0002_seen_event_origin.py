"""Seen events remember how they arrived.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seen_events") as table:
        table.add_column(
            sa.Column("origin", sa.String(20), nullable=False, server_default="stream")
        )


def downgrade() -> None:
    with op.batch_alter_table("seen_events") as table:
        table.drop_column("origin")
