"""Migration 0103: change numbers are 64-bit in the results tables, on both engines."""

from __future__ import annotations

from sqlalchemy import inspect

from crosscheck.store import open_store


async def test_change_numbers_are_64_bit(store_url: str) -> None:
    engine = await open_store(store_url)
    try:
        async with engine.connect() as connection:
            types = await connection.run_sync(
                lambda sync: {
                    table: {c["name"]: str(c["type"]) for c in inspect(sync).get_columns(table)}
                    for table in ("results", "backfilled_messages")
                }
            )
    finally:
        await engine.dispose()
    # SQLite's INTEGER is 64-bit whatever a column declares; PostgreSQL's is 32-bit.
    wide = {"BIGINT", "INTEGER"} if store_url.startswith("sqlite") else {"BIGINT"}
    assert types["results"]["change_number"] in wide
    assert types["backfilled_messages"]["change_number"] in wide
    assert types["results"]["id"] in wide
