"""Items and builds: the scheduler's queue, kept across restarts.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("project", sa.String(300), nullable=False),
        sa.Column("branch", sa.String(300), nullable=False),
        sa.Column("change_number", sa.Integer),
        sa.Column("patchset", sa.Integer),
        sa.Column("revision", sa.String(64)),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_items_state", "items", ["state"])
    op.create_index("ix_items_change", "items", ["connection", "change_number"])
    op.create_table(
        "builds",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("job", sa.String(300), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("voting", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("result", sa.String(30)),
        sa.Column("node", sa.String(200)),
        sa.Column("log_url", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_builds_item", "builds", ["item_id"])
    op.create_index("ix_builds_state", "builds", ["state"])


def downgrade() -> None:
    op.drop_table("builds")
    op.drop_table("items")
