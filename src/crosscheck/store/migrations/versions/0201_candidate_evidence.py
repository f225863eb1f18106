"""Promotion's evidence: results reported on candidates, and manual approvals.

Revision ID: 0201
Revises: 0200
Depends on: 0100 (a candidate's result is a CI account's, as a patchset's is)
"""

import sqlalchemy as sa
from alembic import op

revision = "0201"
down_revision = "0200"
branch_labels = None
depends_on = ("0100",)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "candidate_results",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("candidate", sa.String(64), sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), nullable=False),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("value", sa.String(20), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("duration", sa.Float),
        sa.Column("comment", sa.Text),
        sa.Column("reported_at", TIME, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
    )
    op.create_index("ix_candidate_results_candidate", "candidate_results", ["candidate", "id"])
    op.create_table(
        "candidate_approvals",
        sa.Column("candidate", sa.String(64), sa.ForeignKey("candidates.id"), primary_key=True),
        sa.Column("level", sa.String(100), primary_key=True),
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("approved_at", TIME, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )

    # What a candidate reached: the engine asks at each decision.
    op.create_index("ix_promotions_candidate", "promotions", ["candidate"])


def downgrade() -> None:
    op.drop_index("ix_promotions_candidate", "promotions")
    op.drop_table("candidate_approvals")
    op.drop_table("candidate_results")
