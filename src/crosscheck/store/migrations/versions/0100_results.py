"""Results service: CI accounts, tokens, SSH keys, results and daily counts.

Revision ID: 0100
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0001"
branch_labels = ("results",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ci_accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("info_url", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("allowed_projects", sa.Text, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("last_seen", TIME),
        sa.Column("last_success", TIME),
        sa.UniqueConstraint("name", name="uq_ci_accounts_name"),
    )
    op.create_table(
        "ci_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME),
        sa.UniqueConstraint("token_hash", name="uq_ci_tokens_token_hash"),
    )
    op.create_index("ix_ci_tokens_account", "ci_tokens", ["account_id"])
    op.create_table(
        "ci_ssh_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), nullable=False),
        sa.Column("algorithm", sa.String(100), nullable=False),
        sa.Column("key_data", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(100), nullable=False),
        sa.Column("comment", sa.String(300), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.UniqueConstraint("fingerprint", name="uq_ci_ssh_keys_fingerprint"),
    )
    op.create_index("ix_ci_ssh_keys_account", "ci_ssh_keys", ["account_id"])
    op.create_table(
        "results",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(32), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), nullable=False),
        sa.Column("project", sa.String(300), nullable=False),
        sa.Column("branch", sa.String(300)),
        sa.Column("change_number", sa.Integer, nullable=False),
        sa.Column("patchset", sa.Integer, nullable=False),
        sa.Column("revision", sa.String(64)),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("value", sa.String(20), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("duration", sa.Float),
        sa.Column("voting", sa.Boolean, nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("rerun", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("reported_at", TIME, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
    )
    op.create_index("ix_results_change", "results", ["change_number", "patchset"])
    op.create_index("ix_results_account_time", "results", ["account_id", "reported_at"])
    op.create_index("ix_results_reported_at", "results", ["reported_at"])
    op.create_index("ix_results_revision", "results", ["revision"])
    op.create_table(
        "result_daily_counts",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("value", sa.String(20), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_result_daily_counts_day", "result_daily_counts", ["day"])


def downgrade() -> None:
    op.drop_table("result_daily_counts")
    op.drop_table("results")
    op.drop_table("ci_ssh_keys")
    op.drop_table("ci_tokens")
    op.drop_table("ci_accounts")
