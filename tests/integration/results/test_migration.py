"""Migration 0100 on both engines: applied once, on its own branch beside 0001."""

from __future__ import annotations

from sqlalchemy import inspect, text

from crosscheck.store import open_store


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
            # numbers) on 0102, 0104 (driver, contact, merged changes) on 0103.
            assert set(versions) == {"0005", "0104"}  # the heads of both chains
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
