"""Engines for SQLite (the default) and PostgreSQL, migrated on open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crosscheck.paths import state_dir
from crosscheck.store.migrate import upgrade


def default_url(directory: Path | None = None) -> str:
    """SQLite in crosscheck's state directory."""
    path = (directory or state_dir()) / "crosscheck.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


async def open_store(url: str | None = None) -> AsyncEngine:
    """Connect and bring the schema to the newest migration."""
    engine = create_async_engine(url or default_url())
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web pages read while the scheduler writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    # SQLite ignores foreign keys unless asked, on every connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Wait for a writer instead of failing at once with "database is locked".
    cursor.execute("PRAGMA busy_timeout=10000")
    # With WAL, NORMAL is durable across application crashes (not power loss) and much faster.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
