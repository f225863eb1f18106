"""A build's work directory goes, whatever modes the build left in it."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from crosscheck.executor.local import LocalNodeProvider, remove_tree


def test_a_directory_that_cannot_be_opened_is_made_readable_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As serve's user a mode-000 directory cannot be opened (root opens it anyway, so
    the refusal is played here): rmtree reported it through `os.open`, which the
    clean-up then called without its flags, and the tree stayed."""
    work = tmp_path / "work"
    (work / "a" / "hide").mkdir(parents=True)
    (work / "a" / "hide" / "big").write_text("x")
    (work / "ro").mkdir()
    (work / "ro" / "g").write_text("y")
    (work / "ro").chmod(0o500)
    real_open = os.open
    refused: list[str] = []

    def open_once_refused(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if name == "hide" and not refused:
            refused.append(name)
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_once_refused)
    remove_tree(work)
    assert refused == ["hide"]
    assert not work.exists()


async def test_the_slot_is_free_while_the_last_build_s_work_directory_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big checkout takes a while to remove; the next build waiting for the slot
    need not wait for it too (each build has a work directory of its own)."""
    removing, go_on = threading.Event(), threading.Event()

    def slow_remove(path: Path) -> None:
        removing.set()
        go_on.wait(10)
        remove_tree(path)

    monkeypatch.setattr("crosscheck.executor.local.remove_tree", slow_remove)
    provider = LocalNodeProvider(tmp_path / "work", slots=1)

    async def first() -> Path:
        async with provider.acquire("b-1") as node:
            return node.work_dir

    first_build = asyncio.create_task(first())
    await asyncio.to_thread(removing.wait, 10)
    try:
        async with asyncio.timeout(5), provider.acquire("b-2") as second:
            assert not first_build.done()  # b-1's directory is still being removed
            assert second.work_dir.is_dir()
            go_on.set()
    finally:
        go_on.set()
    assert not (await first_build).exists()
