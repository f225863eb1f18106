"""Publications: what each promotion publishes (tags, manifest, webhook), kept until done.

Revision ID: 0203
Revises: 0202
"""

import sqlalchemy as sa
from alembic import op

revision = "0203"
down_revision = "0202"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column(
            "promotion_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.ForeignKey("promotions.id"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", TIME, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("done_at", TIME),
    )
    op.create_index("ix_publications_due", "publications", ["state", "next_at"])


def downgrade() -> None:
    op.drop_table("publications")
