"""A look into the store of a serve running in the background (the demo's), from code
that awaits nothing: SQLite, read-only, never created nor migrated from here. A store
not created or not migrated yet reads as empty."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from crosscheck.store import work
from crosscheck.store.tables import event_cursors

T = TypeVar("T")


def active_items(database: Path) -> int:
    """Items queued or running in the store."""
    return _read(database, work.count_active_items, 0)


def has_cursor(database: Path, connection: str) -> bool:
    """Whether the store holds an event cursor for the connection."""
    query = select(event_cursors.c.connection).where(event_cursors.c.connection == connection)
    return _read(database, lambda db: db.execute(query.limit(1)).first() is not None, False)


def _read(database: Path, read: Callable[[Connection], T], empty: T) -> T:
    if not database.exists():
        return empty
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5),
        poolclass=NullPool,
    )
    try:
        with engine.connect() as db:
            return read(db)
    except OperationalError:  # created but not migrated yet
        return empty
    finally:
        engine.dispose()
