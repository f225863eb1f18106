"""Results: the derived tables kept by the database in the insert's own statement.

Every stored result moves its account's daily count, the (account, project) pair's
last time and the account's last seen / last success. Kept by the ingest code, that
was three more statements per report (three round trips to the database thread or
server per result posted one at a time); a trigger does it inside the INSERT, in the
same transaction, for every writer of `results`.

SQLite: a row trigger (SQLite has no other kind). PostgreSQL: a statement trigger
reading the inserted rows as a transition table, so a batch of 100 results makes
one grouped upsert per derived table, not 100. Both keep the rules the code had: a
late (backfilled) result never moves a time back, and rows are taken in key order
so concurrent batches lock them in the same order.

Two more derived tables for the health table, kept by the same trigger:
`result_account_days`, per account and UTC day, the count of each value in a column
of its own (a month is 31 rows per account instead of a month of per-value rows);
`reported_projects`, each project's last report (the filter's suggestions without a
pass over every (account, project) pair). An index on account_projects by account
and time counts an account's projects of the month and lists its first ones.

The bench's bulk loader drops the triggers while it loads and calls `backfill` after,
as this migration does for the results stored before it.

Revision ID: 0105
Revises: 0104
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0105"
down_revision = "0104"
branch_labels = None
depends_on = None

TRIGGER = "results_aggregates"

#: The values counted in columns of result_account_days (model.results.ResultValue).
VALUES = ("passed", "failed", "unstable", "in_progress", "skipped", "not_registered")

#: Days since 1970-01-01 (UTC) of a stored time: SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff'.
_SQLITE_DAY = "CAST(julianday(substr({0}, 1, 10)) - 2440587.5 AS INTEGER)"
_POSTGRESQL_DAY = "CAST(floor(extract(epoch FROM {0}) / 86400) AS INTEGER)"


def _value_columns(prefix: str) -> str:
    return ", ".join(f"{prefix}{value}" for value in VALUES)


def _value_counts_row(value: str) -> str:
    """One row's contribution to each value column (1 in its own, 0 elsewhere)."""
    return ", ".join(f"CASE WHEN {value} = '{v}' THEN 1 ELSE 0 END" for v in VALUES)


def _value_sums(value: str) -> str:
    return ", ".join(f"SUM(CASE WHEN {value} = '{v}' THEN 1 ELSE 0 END)" for v in VALUES)


def _add_values(table: str) -> str:
    return ", ".join(f"{v} = {table}.{v} + excluded.{v}" for v in VALUES)


def _sqlite_trigger() -> list[str]:
    day = _SQLITE_DAY.format("NEW.reported_at")
    # Built from this module's constants only (the noqa below).
    return [
        f"""
        CREATE TRIGGER {TRIGGER} AFTER INSERT ON results
        BEGIN
            INSERT INTO result_daily_counts (account_id, day, value, count)
            VALUES (NEW.account_id, {day}, NEW.value, 1)
            ON CONFLICT (account_id, day, value) DO UPDATE SET count = count + 1;
            INSERT INTO result_account_days (account_id, day, {_value_columns("")})
            VALUES (NEW.account_id, {day}, {_value_counts_row("NEW.value")})
            ON CONFLICT (account_id, day) DO UPDATE SET {_add_values("result_account_days")};
            INSERT INTO account_projects (account_id, project, last_reported_at)
            VALUES (NEW.account_id, NEW.project, NEW.reported_at)
            ON CONFLICT (account_id, project) DO UPDATE
                SET last_reported_at = max(last_reported_at, excluded.last_reported_at);
            INSERT INTO reported_projects (project, last_reported_at)
            VALUES (NEW.project, NEW.reported_at)
            ON CONFLICT (project) DO UPDATE
                SET last_reported_at = max(last_reported_at, excluded.last_reported_at);
            UPDATE ci_accounts SET
                last_seen = CASE WHEN last_seen IS NULL OR last_seen < NEW.reported_at
                    THEN NEW.reported_at ELSE last_seen END,
                last_success = CASE WHEN NEW.value = 'passed'
                    AND (last_success IS NULL OR last_success < NEW.reported_at)
                    THEN NEW.reported_at ELSE last_success END
            WHERE id = NEW.account_id;
        END
        """  # noqa: S608
    ]


def _postgresql_trigger() -> list[str]:
    day = _POSTGRESQL_DAY.format("reported_at")
    # Built from this module's constants only (the noqa below).
    return [
        f"""
        CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO result_daily_counts AS kept (account_id, day, value, count)
            SELECT account_id, {day}, value, count(*) FROM inserted
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (account_id, day, value) DO UPDATE SET count = kept.count + excluded.count;
            INSERT INTO result_account_days AS kept (account_id, day, {_value_columns("")})
            SELECT account_id, {day}, {_value_sums("value")} FROM inserted
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (account_id, day) DO UPDATE SET {_add_values("kept")};
            INSERT INTO account_projects AS kept (account_id, project, last_reported_at)
            SELECT account_id, project, max(reported_at) FROM inserted
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (account_id, project) DO UPDATE
                SET last_reported_at = greatest(kept.last_reported_at, excluded.last_reported_at);
            INSERT INTO reported_projects AS kept (project, last_reported_at)
            SELECT project, max(reported_at) FROM inserted GROUP BY 1 ORDER BY 1
            ON CONFLICT (project) DO UPDATE
                SET last_reported_at = greatest(kept.last_reported_at, excluded.last_reported_at);
            -- greatest() skips NULLs: a first result sets the time.
            UPDATE ci_accounts SET
                last_seen = greatest(ci_accounts.last_seen, batch.seen),
                last_success = greatest(ci_accounts.last_success, batch.success)
            FROM (
                SELECT account_id, max(reported_at) AS seen,
                    max(reported_at) FILTER (WHERE value = 'passed') AS success
                FROM inserted GROUP BY account_id ORDER BY account_id
            ) AS batch
            WHERE ci_accounts.id = batch.account_id;
            RETURN NULL;
        END
        $$
        """,  # noqa: S608
        f"""
        CREATE TRIGGER {TRIGGER} AFTER INSERT ON results
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()
        """,
    ]


def create_trigger(connection: Connection) -> None:
    """The trigger that keeps the derived tables, on the connection's engine."""
    postgresql = connection.dialect.name == "postgresql"
    for statement in _postgresql_trigger() if postgresql else _sqlite_trigger():
        connection.exec_driver_sql(statement)


def drop_trigger(connection: Connection) -> None:
    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TRIGGER}" + _on_results(connection))
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TRIGGER}()")


def _on_results(connection: Connection) -> str:
    return " ON results" if connection.dialect.name == "postgresql" else ""


def backfill(connection: Connection) -> None:
    """result_account_days from the stored results in one pass, reported_projects from
    account_projects (the other derived tables were kept by the code before this
    migration; a bulk load fills them itself, first)."""
    postgresql = connection.dialect.name == "postgresql"
    day = (_POSTGRESQL_DAY if postgresql else _SQLITE_DAY).format("reported_at")
    connection.exec_driver_sql("DELETE FROM result_account_days")
    connection.exec_driver_sql(
        f"INSERT INTO result_account_days (account_id, day, {_value_columns('')}) "  # noqa: S608
        f"SELECT account_id, {day}, {_value_sums('value')} FROM results GROUP BY 1, 2"
    )
    connection.exec_driver_sql("DELETE FROM reported_projects")
    connection.exec_driver_sql(
        "INSERT INTO reported_projects (project, last_reported_at) "
        "SELECT project, MAX(last_reported_at) FROM account_projects GROUP BY project"
    )


def upgrade() -> None:
    op.create_table(
        "result_account_days",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ci_accounts.id"), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        *(sa.Column(v, sa.Integer, nullable=False, server_default="0") for v in VALUES),
    )
    op.create_index("ix_result_account_days_day", "result_account_days", ["day"])
    op.create_table(
        "reported_projects",
        sa.Column("project", sa.String(300), primary_key=True),
        sa.Column("last_reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_account_projects_account_time", "account_projects", ["account_id", "last_reported_at"]
    )
    connection = op.get_bind()
    backfill(connection)
    create_trigger(connection)


def downgrade() -> None:
    drop_trigger(op.get_bind())
    op.drop_index("ix_account_projects_account_time", "account_projects")
    op.drop_table("reported_projects")
    op.drop_index("ix_result_account_days_day", "result_account_days")
    op.drop_table("result_account_days")
