"""Event cursors, seen events and reports.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_cursors",
        sa.Column("connection", sa.String(200), primary_key=True),
        sa.Column("last_event_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "seen_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("sameness", sa.String(64), nullable=False),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("event_key", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_events_sameness", "seen_events", ["connection", "sameness"])
    op.create_index("ix_seen_events_received_at", "seen_events", ["received_at"])
    op.create_table(
        "reports",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("report_key", sa.String(300), nullable=False),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("project", sa.String(300), nullable=False),
        sa.Column("change_number", sa.Integer, nullable=False),
        sa.Column("patchset", sa.Integer, nullable=False),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("transport", sa.String(20)),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("report_key", name="uq_reports_report_key"),
    )


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("seen_events")
    op.drop_table("event_cursors")
