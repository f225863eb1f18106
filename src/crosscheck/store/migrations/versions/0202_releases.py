"""Releases: a candidate qualified for a channel, with its name and manifest.

Revision ID: 0202
Revises: 0201
"""

import sqlalchemy as sa
from alembic import op

revision = "0202"
down_revision = "0201"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(100), nullable=False),
        sa.Column("candidate", sa.String(64), sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("components", sa.Text, nullable=False),
        sa.UniqueConstraint("scenario", "name", name="uq_releases_scenario_name"),
    )


def downgrade() -> None:
    op.drop_table("releases")
