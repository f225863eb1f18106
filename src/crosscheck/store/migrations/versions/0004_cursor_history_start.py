"""Cursors remember when their history began, so catch-up never looks before it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing cursors get none: they keep catching up with the margin, as before.
    with op.batch_alter_table("event_cursors") as batch:
        batch.add_column(sa.Column("started_at", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_cursors") as batch:
        batch.drop_column("started_at")
