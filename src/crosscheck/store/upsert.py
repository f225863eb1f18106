"""INSERT ... ON CONFLICT on both engines: the store's counters and last-seen rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert(connection: AsyncConnection, table: Table) -> Any:
    """The engine's own insert into `table`, which has `on_conflict_do_update` and
    `excluded` (SQLite's and PostgreSQL's share that API, not a common type)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
