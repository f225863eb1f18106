"""Promotion: candidates, the levels' pointers and the promotion history.

Revision ID: 0200
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0200"
down_revision = "0001"
branch_labels = ("promotion",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TIME = sa.DateTime(timezone=True)
PROMOTE_ONLY = sa.text("kind = 'promote'")


def upgrade() -> None:
    op.create_table(
        "candidates",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("versions", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
    )
    op.create_index("ix_candidates_scenario_created", "candidates", ["scenario", "created_at"])
    op.create_table(
        "level_pointers",
        sa.Column("scenario", sa.String(200), primary_key=True),
        sa.Column("level", sa.String(100), primary_key=True),
        sa.Column("candidate", sa.String(64), sa.ForeignKey("candidates.id")),
        sa.Column("moved_at", TIME),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "promotions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("level", sa.String(100), nullable=False),
        sa.Column("candidate", sa.String(64), sa.ForeignKey("candidates.id")),
        sa.Column("previous", sa.String(64), sa.ForeignKey("candidates.id")),
        sa.Column("at", TIME, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_promotions_level", "promotions", ["scenario", "level", "id"])
    # Partial: a candidate is promoted to a level once; demotions and rollbacks repeat freely.
    op.create_index(
        "uq_promotions_promoted_once",
        "promotions",
        ["scenario", "level", "candidate"],
        unique=True,
        sqlite_where=PROMOTE_ONLY,
        postgresql_where=PROMOTE_ONLY,
    )


def downgrade() -> None:
    op.drop_table("promotions")
    op.drop_table("level_pointers")
    op.drop_table("candidates")
