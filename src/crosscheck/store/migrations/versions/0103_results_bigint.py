"""Results: change numbers as 64-bit integers, so the store never limits Gerrit's numbers.

Gerrit's change numbers are Java ints today and the API refuses larger ones, but they
only grow: a 64-bit column costs four bytes a row and leaves no overflow to reach.
SQLite's INTEGER is 64-bit already; only PostgreSQL's columns change.

Revision ID: 0103
Revises: 0102
"""

import sqlalchemy as sa
from alembic import op

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None

COLUMNS = [("results", "change_number"), ("backfilled_messages", "change_number")]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), nullable=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), nullable=False
        )
