"""Engines for SQLite (the default) and PostgreSQL, migrated on open.

A store that cannot be opened (an unknown kind of URL, a server that does not
answer, a file that cannot be created) is a `StoreError`: one line naming the
database, its password hidden, and the reason; the CLI prints it, no traceback.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crosscheck.errors import CrosscheckError
from crosscheck.paths import state_dir
from crosscheck.store.migrate import upgrade


def default_url(directory: Path | None = None, *, create: bool = True) -> str:
    """SQLite in crosscheck's state directory (made unless `create` is False)."""
    path = (directory or state_dir()) / "crosscheck.db"
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


#: What the message tells the operator to check: serve's option and its commands'.
WHERE_SET = "check --database or CROSSCHECK_DATABASE_URL"
#: The same for the results service's commands, which name it the store.
STORE_SET = "check --store or CROSSCHECK_STORE_URL"


class StoreError(CrosscheckError):
    """The store cannot be opened; the message names the database and why."""


async def open_store(
    url: str | None = None, *, hint: str = WHERE_SET, existing: bool = False
) -> AsyncEngine:
    """Connect and bring the schema to the newest migration; `hint` ends the message of
    a store that cannot be opened (where its address is set). `existing`: a command that
    only reads refuses to make a SQLite store that is not there (an empty one would
    answer as if nothing had been stored, from another place than the operator meant)."""
    if existing:
        _must_exist(url, hint)
    try:
        url = url or default_url()
    except OSError as error:
        raise StoreError(_why(url, error, hint)) from error
    engine = _engine(url)
    threads_before = set(threading.enumerate())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    except (SQLAlchemyError, OSError) as error:
        await engine.dispose()
        if engine.dialect.name == "sqlite":
            await _sqlite_threads_ended(threads_before)
        raise StoreError(_why(url, error, hint)) from error
    return engine


def _engine(url: str) -> AsyncEngine:
    """An engine on `url`; SQLite connections get the store's pragmas (foreign keys, WAL,
    the busy timeout), whichever command opens them: commands write through it too."""
    try:
        # A database server restarted while crosscheck idled leaves its pooled
        # connections closed: each is tried (one round trip) before it is handed out,
        # or the first request after the restart would fail. SQLite has no server.
        engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError, OSError) as error:
        raise StoreError(_why(url, error)) from error
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


async def _sqlite_threads_ended(before: set[threading.Thread], timeout: float = 2.0) -> None:
    """Wait, with the loop running, for the threads of SQLite connections that failed.

    aiosqlite answers the failed connection's close from its own thread (a daemon, so
    exiting does not wait for it); answered after the loop closed, it prints "Event
    loop is closed" under the one-line error. The loop's executor threads, which a
    driver may have started meanwhile (a DNS lookup), never end: they are left alone.
    """
    for thread in set(threading.enumerate()) - before:
        if not thread.name.startswith("asyncio_"):  # joined from one of those
            await asyncio.to_thread(thread.join, timeout)


async def open_existing_store(url: str | None, *, needs: str) -> AsyncEngine:
    """Connect to a store `crosscheck serve` made, for reading: nothing is created or
    migrated (a reader must never migrate a store under a running serve of another
    version); `needs` names a table the reader queries, so an older store is said to
    be one instead of failing on its first query."""
    url = url or default_url(create=False)
    engine = _engine(url)
    where = _shown(url) or "the database"
    database = engine.url.database
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and database and not await asyncio.to_thread(Path(database).exists):
        await engine.dispose()
        raise StoreError(f"no store at {where}: crosscheck serve makes it; {WHERE_SET}")
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda sync: inspect(sync).has_table(needs))
    except (SQLAlchemyError, OSError) as error:
        await engine.dispose()
        raise StoreError(_why(url, error)) from error
    if not found:
        await engine.dispose()
        raise StoreError(
            f"the store at {where} has no {needs} table yet: start this version's "
            "crosscheck serve on it once, to bring it up to date"
        )
    return engine


def _must_exist(url: str | None, hint: str) -> None:
    files = sqlite_files(url)
    if files and not files[0].exists():
        raise StoreError(
            f"no store at {files[0]}: nothing has been stored there yet (serve, or a command "
            f"that writes, makes it); {hint}"
        )


def sqlite_files(url: str | None) -> list[Path]:
    """The files of a SQLite store (the database, its WAL, shared memory and journal);
    none for a server's. `url` None: the default store."""
    try:
        parsed = make_url(url or default_url(create=False))
    except ArgumentError:
        return []
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return []
    database = Path(parsed.database)
    beside = ("-wal", "-shm", "-journal")
    return [database, *(database.with_name(database.name + suffix) for suffix in beside)]


def _why(url: str | None, error: BaseException, hint: str = WHERE_SET) -> str:
    shown = _shown(url) if url else "in the state directory"
    where = f"the database {shown}" if shown else "the database"
    reason = _reason(error).rstrip(".")
    if url and not url.startswith("sqlite") and isinstance(error, OSError):
        reason += " (is the database server running?)"
    return f"cannot open {where}: {reason}: {hint}"


def _shown(url: str) -> str | None:
    """The URL without its password; None when it cannot be parsed (nothing of it is shown)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return None


def _reason(error: BaseException) -> str:
    if isinstance(error, NoSuchModuleError):
        return "unknown kind of database (use sqlite+aiosqlite:///PATH or postgresql+asyncpg://...)"
    if isinstance(error, ArgumentError):
        return "not a database URL (e.g. sqlite+aiosqlite:///PATH, postgresql+asyncpg://...)"
    if isinstance(error, DBAPIError):
        # The driver's own message: SQLAlchemy's adds the statement and a link.
        return str(error.orig).strip() or type(error.orig).__name__
    if isinstance(error, OSError):
        # asyncpg's refusal says "Connect call failed (...)"; the errno's name is clearer.
        if error.errno is not None and error.errno > 0:
            return os.strerror(error.errno)
        if error.strerror:
            return error.strerror
    return str(error).strip() or type(error).__name__


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
