"""The store on SQLite and on a real PostgreSQL: every test using `store_url` (or `store`,
its migrated engine) runs on both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.store import open_store
from tests.postgres import PostgresCluster, PostgresUnavailableError


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster()
        cluster.start()
    except PostgresUnavailableError as error:
        pytest.fail(f"PostgreSQL could not be started, so the PostgreSQL tests fail: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'crosscheck.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated store on each engine (`store_url`), disposed of after the test."""
    engine = await open_store(store_url)
    try:
        yield engine
    finally:
        await engine.dispose()
