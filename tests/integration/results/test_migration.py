"""Migration 0100 on both engines: applied once, on its own branch beside 0001."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from crosscheck.store import open_store
from crosscheck.store.migrate import alembic_config
from crosscheck.store.tables import account_projects


async def test_the_results_tables_are_created_once(store_url: str) -> None:
    engine = await open_store(store_url)
    await engine.dispose()
    engine = await open_store(store_url)  # a second start migrates nothing
    try:
        async with engine.connect() as connection:
            versions = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalars()
            # 0101 (backfill) builds on 0100, 0102 (audit) on 0101, 0103 (64-bit change
            # numbers) on 0102, 0104 (driver, contact, merged changes) on 0103, 0105 (the
            # derived tables kept by a trigger, the accounts' days) on 0104.
            # 0200 (promotion) is a branch of its own off 0001; 0201 (its evidence, which
            # depends on 0100), 0202 (releases) and 0203 (publications) build on it.
            # 0300 (node locks, holds, autoholds) is another branch off 0001.
            assert set(versions) == {"0008", "0105", "0203", "0300"}  # every chain's head
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            indexes = await connection.run_sync(
                lambda sync: {i["name"] for i in inspect(sync).get_indexes("results")}
            )
    finally:
        await engine.dispose()
    assert {"ci_accounts", "ci_tokens", "ci_ssh_keys", "results", "result_daily_counts"} <= tables
    assert "audit_events" in tables
    assert "merged_changes" in tables
    assert {
        "ix_results_change",
        "ix_results_account_time",
        "ix_results_reported_at",
        "ix_results_revision",
    } <= indexes


async def test_0104_lists_the_projects_each_account_already_reported_on(store_url: str) -> None:
    """A store at 0103 with results: 0104 fills account_projects from them, in one pass."""
    engine = create_async_engine(store_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0103"))
            await connection.execute(
                text("INSERT INTO ci_accounts (id, name, owner, info_url, enabled, admin, "
                     "allowed_projects, disabled_reason, created_at, updated_at) "
                     "VALUES (1, 'Acme CI', '', '', true, false, '[]', '', :now, :now)"),
                {"now": datetime(2026, 1, 1, tzinfo=UTC)},
            )  # fmt: skip
            for project, day in (("a/nova", 1), ("a/nova", 3), ("a/cinder", 2)):
                await connection.execute(
                    text("INSERT INTO results (uuid, account_id, project, change_number, "
                         "patchset, job, value, voting, rerun, reported_at, received_at) "
                         "VALUES (:uuid, 1, :project, 1, 1, 'unit', 'passed', true, false, "
                         ":at, :at)"),
                    {"uuid": f"{project}{day}", "project": project,
                     "at": datetime(2026, 1, day, tzinfo=UTC)},
                )  # fmt: skip
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "heads"))
            rows = await connection.execute(
                text("SELECT project FROM account_projects WHERE account_id = 1 ORDER BY project")
            )
            assert list(rows.scalars()) == ["a/cinder", "a/nova"]
        async with engine.connect() as connection:
            newest = await connection.execute(
                select(account_projects.c.last_reported_at).where(
                    account_projects.c.project == "a/nova"
                )
            )
            assert newest.scalar_one() == datetime(2026, 1, 3, tzinfo=UTC)
    finally:
        await engine.dispose()
