"""Nodes: locks on SSH nodes' slots, operators' holds and drains, autohold requests.

Revision ID: 0300
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0300"
down_revision = "0001"
branch_labels = ("nodes",)
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "node_locks",
        sa.Column("node", sa.String(200), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("build_id", sa.String(100), nullable=False),
        sa.Column("pod", sa.String(200), nullable=False),
        sa.Column("run_dir", sa.Text, nullable=False),
        sa.Column("locked_at", TIME, nullable=False),
    )
    op.create_index("ix_node_locks_build", "node_locks", ["build_id"])
    op.create_table(
        "node_states",
        sa.Column("node", sa.String(200), primary_key=True),
        sa.Column("held_by", sa.String(200)),
        sa.Column("hold_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("held_at", TIME),
        sa.Column("hold_until", TIME),
        sa.Column("kept_dir", sa.Text),
        sa.Column("drained", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_table(
        "autoholds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(300), nullable=False),
        sa.Column("project", sa.String(300)),
        sa.Column("change_number", sa.Integer),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("hold_for", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("autoholds")
    op.drop_table("node_states")
    op.drop_index("ix_node_locks_build", "node_locks")
    op.drop_table("node_locks")
