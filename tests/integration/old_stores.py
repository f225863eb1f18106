"""A store as an older release left it, for a migration's test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from alembic import command
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from crosscheck.store.migrate import alembic_config


@asynccontextmanager
async def store_at(store_url: str, revision: str) -> AsyncIterator[AsyncConnection]:
    """The store migrated up to `revision` only, in a transaction the test fills with
    rows of that time; committed and closed before the current code opens it."""
    old = create_async_engine(store_url)
    try:
        async with old.begin() as db:
            await db.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
            yield db
    finally:
        await old.dispose()
