"""Results backfill and pages: messages already imported; a covering index for the health table.

Revision ID: 0101
Revises: 0100
"""

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfilled_messages",
        sa.Column("source", sa.String(300), primary_key=True),
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("change_number", sa.Integer, nullable=False),
        sa.Column("results", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_results_time_account_value", "results", ["reported_at", "account_id", "value"]
    )


def downgrade() -> None:
    op.drop_index("ix_results_time_account_value", "results")
    op.drop_table("backfilled_messages")
