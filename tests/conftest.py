"""Shared pytest setup: every test under tests/e2e is marked e2e; a fresh SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.store import open_store

E2E_DIR = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite store of the test's own (tests on PostgreSQL use `store_url`)."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    yield store
    await store.dispose()
