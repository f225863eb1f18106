"""One serve per store: a second one on the same store stops before it does anything,
naming the first; once the first is gone, the store is free again."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.store import open_store
from crosscheck.store.one_serve import StoreInUseError, postgres_held, sqlite_held


async def test_a_second_holder_of_one_store_is_refused_until_the_first_lets_go(
    store_url: str,
) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        async with held(store_url, first):
            with pytest.raises(StoreInUseError, match="another crosscheck serve") as refused:
                await claim(store_url, second)
            if store_url.startswith("sqlite"):
                assert f"(pid {os.getpid()})" in str(refused.value)
        await claim(store_url, second)  # free again
    finally:
        await first.dispose()
        await second.dispose()


@contextlib.asynccontextmanager
async def held(store_url: str, engine: AsyncEngine) -> AsyncIterator[None]:
    with sqlite_held(store_url):
        async with postgres_held(engine):
            yield


async def claim(store_url: str, engine: AsyncEngine) -> None:
    async with held(store_url, engine):
        pass


def test_a_killed_holder_lets_go_of_a_sqlite_store(tmp_path: Path) -> None:
    """kill -9 leaves no lock behind: the kernel drops it with the process."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'crosscheck.db'}"
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from crosscheck.store.one_serve import sqlite_held\n"
            f"with sqlite_held({url!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n"
        )],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreInUseError, match=f"pid {holder.pid}"), sqlite_held(url):
            pass
    finally:
        holder.kill()
        holder.communicate()
    with sqlite_held(url):
        pass
