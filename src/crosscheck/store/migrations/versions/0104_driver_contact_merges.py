"""Results: a CI account's driver and contact; the changes Gerrit merged; the
projects each account reported on.

The health table names what each CI tests and how to reach its operators, counts
votes as Stackalytics did (on the patchset that merged), and lists the projects a CI
covers without scanning a month of results at each request.

Revision ID: 0104
Revises: 0103
"""

import sqlalchemy as sa
from alembic import op

revision = "0104"
down_revision = "0103"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # With a default, a NOT NULL column is added in place on both engines: no table copy.
    for name in ("driver", "contact"):
        op.add_column(
            "ci_accounts", sa.Column(name, sa.String(200), nullable=False, server_default="")
        )
    op.create_table(
        "merged_changes",
        sa.Column("change_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("project", sa.String(300), nullable=False),
        sa.Column("patchset", sa.Integer, nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_merged_changes_merged_at", "merged_changes", ["merged_at"])
    op.create_table(
        "account_projects",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), primary_key=True),
        sa.Column("project", sa.String(300), primary_key=True),
        sa.Column("last_reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    # One pass over the results stored so far; from now on each report keeps it.
    op.execute(
        "INSERT INTO account_projects (account_id, project, last_reported_at) "
        "SELECT account_id, project, MAX(reported_at) FROM results GROUP BY account_id, project"
    )


def downgrade() -> None:
    op.drop_table("account_projects")
    op.drop_index("ix_merged_changes_merged_at", "merged_changes")
    op.drop_table("merged_changes")
    with op.batch_alter_table("ci_accounts") as batch:
        batch.drop_column("contact")
        batch.drop_column("driver")
