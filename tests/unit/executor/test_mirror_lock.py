"""A mirror's file lock: one holder across processes, whatever a build left in its place."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
from pathlib import Path
from typing import Any

import pytest

from crosscheck.executor.mirror_files import hold_lock, open_lock


def test_a_link_in_the_locks_place_is_replaced_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "service-file"
    target.write_text("kept")
    lock_file = tmp_path / "driver.git.lock"
    lock_file.symlink_to(target)

    os.close(open_lock(lock_file))

    assert not lock_file.is_symlink()
    assert target.read_text() == "kept"


def test_a_lock_that_cannot_be_opened_is_said_and_left_to_its_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock_file = tmp_path / "driver.git.lock"
    lock_file.write_text("")
    real_open = os.open

    def out_of_descriptors(path: Any, *args: Any) -> int:
        if Path(path) == lock_file:
            raise OSError(errno.EMFILE, "Too many open files")
        return real_open(path, *args)

    monkeypatch.setattr("crosscheck.executor.mirror_files.os.open", out_of_descriptors)

    with pytest.raises(OSError, match="Too many open files"):
        open_lock(lock_file)
    assert lock_file.exists()  # another process may hold it: never removed under it


async def test_a_lock_file_replaced_while_waiting_is_locked_anew(tmp_path: Path) -> None:
    """Waiting on a file someone removed and made anew would leave two holders: this
    process on the old file, the next one on the new."""
    lock_file = tmp_path / "driver.git.lock"
    first = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(first, fcntl.LOCK_EX)
    waiting = asyncio.create_task(hold_lock(lock_file))
    await asyncio.sleep(0.3)
    lock_file.unlink()
    second = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(second, fcntl.LOCK_EX)  # the lock as the next process holds it
    os.close(first)  # the old file released
    await asyncio.sleep(0.3)

    assert not waiting.done()  # not holding the old file while another holds the new

    os.close(second)
    held = await asyncio.wait_for(waiting, 5)
    try:
        assert os.fstat(held).st_ino == os.lstat(lock_file).st_ino
    finally:
        os.close(held)
