"""Whether a build ended because the server its workspace is fetched from was away: such
an attempt is not counted against the job's `attempts`.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Builds ended before were counted as attempts, as they were then.
    with op.batch_alter_table("builds") as batch:
        batch.add_column(sa.Column("source_away", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch:
        batch.drop_column("source_away")
