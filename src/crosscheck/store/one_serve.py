"""One `crosscheck serve` per store.

A second serve on the same store takes the first one's running builds for builds a
restart interrupted: it stops their processes, and the first one then reports them
failed (a -1 on an innocent change), while both run the same build into one log
directory. So a serve holds its store for as long as it runs: an exclusive lock on a
file beside a SQLite database, taken before anything is made (the kernel lets go of
it when the process ends, even by kill -9), or a PostgreSQL advisory lock on a
connection kept open for as long.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Iterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.errors import CrosscheckError
from crosscheck.store.engine import sqlite_files

#: The advisory lock's key on PostgreSQL: "xcheckSV" as a number.
ADVISORY_KEY = int.from_bytes(b"xcheckSV", "big") >> 1
LOCK_SUFFIX = ".serve-lock"
_ELSEWHERE = "stop it first, or give this one a store of its own (--database, CROSSCHECK_STATE_DIR)"


class StoreInUseError(CrosscheckError):
    """Another serve holds the store."""


@contextlib.contextmanager
def sqlite_held(url: str | None) -> Iterator[None]:
    """Hold the SQLite store at `url` (None: the default one) until the block ends;
    nothing for another database. StoreInUseError when another serve holds it."""
    files = sqlite_files(url)
    if not files:
        yield
        return
    lock = files[0].with_name(files[0].name + LOCK_SUFFIX)
    if url is None:  # the state directory, made at the first start
        lock.parent.mkdir(parents=True, exist_ok=True)
    elif not lock.parent.is_dir():  # opening the store says what is wrong
        yield
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise StoreInUseError(
                f"another crosscheck serve (pid {holder}) uses the store {files[0]}: {_ELSEWHERE}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # and the lock with it


@contextlib.asynccontextmanager
async def postgres_held(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold a PostgreSQL store until the block ends; nothing for another database."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as held:
        taken = await held.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
        if not taken:
            raise StoreInUseError(
                f"another crosscheck serve uses this PostgreSQL database: {_ELSEWHERE}"
            )
        try:
            yield
        finally:
            await held.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
