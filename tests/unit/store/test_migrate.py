"""The heads a store is compared with, without Alembic, are Alembic's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.store import open_store
from crosscheck.store.migrate import HEADS, alembic_config, stored_revisions


def test_the_heads_constant_is_alembics_script_directory() -> None:
    assert frozenset(ScriptDirectory.from_config(alembic_config()).get_heads()) == HEADS


async def test_a_new_store_is_migrated_to_every_head(engine: AsyncEngine) -> None:
    async with engine.connect() as db:
        assert await db.run_sync(stored_revisions) == HEADS


def test_opening_a_store_at_the_heads_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    script = (
        "import asyncio, sys\n"
        "from crosscheck.store import open_store\n"
        "async def main():\n"
        f"    await (await open_store({url!r})).dispose()\n"
        "asyncio.run(main())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n"
    )
    command = [sys.executable, "-c", script]
    first = subprocess.run(command, check=True, capture_output=True, text=True)
    again = subprocess.run(command, check=True, capture_output=True, text=True)
    assert first.stdout.strip() == "['alembic', 'mako']", first.stderr  # it migrated
    assert again.stdout.strip() == "[]", again.stderr


async def test_a_store_behind_a_head_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    engine = await open_store(url)
    async with engine.begin() as db:
        await db.exec_driver_sql("UPDATE alembic_version SET version_num = '0006' "
                                 "WHERE version_num = '0008'")  # fmt: skip
        await db.exec_driver_sql("ALTER TABLE reports DROP COLUMN next_attempt_at")
        await db.exec_driver_sql("ALTER TABLE builds DROP COLUMN source_away")
    await engine.dispose()
    engine = await open_store(url)
    async with engine.connect() as db:
        assert await db.run_sync(stored_revisions) == HEADS
        columns = await db.exec_driver_sql("SELECT name FROM pragma_table_info('reports')")
        assert "next_attempt_at" in set(columns.scalars())
        columns = await db.exec_driver_sql("SELECT name FROM pragma_table_info('builds')")
        assert "source_away" in set(columns.scalars())
    await engine.dispose()
