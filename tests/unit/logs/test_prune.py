"""Pruning: builds older than the retention go, newer ones and fresh directories stay."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import timedelta
from pathlib import Path

from crosscheck.logs import prune_logs, prune_periodically

DAY = 86400.0


def make_build(root: Path, relative: str, age_days: float, now: float) -> Path:
    build = root / relative
    (build / "artifacts" / "deep").mkdir(parents=True)
    (build / "artifacts" / "deep" / "x.txt").write_text("x")
    (build / "build.json").write_text("{}")
    (build / "console.log").write_text("log")
    moment = now - age_days * DAY
    for path in [build / "build.json", *build.parents]:
        if path == root.parent:
            break
        os.utime(path, (moment, moment))
    return build


def test_old_builds_and_their_empty_parents_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    now = time.time()
    old = make_build(root, "42/1042/1/check/job-a/b1", 31, now)
    recent = make_build(root, "42/1042/2/check/job-a/b2", 29, now)
    other_old = make_build(root, "07/1007/1/check/job-a/b3", 45, now)

    result = prune_logs(root, timedelta(days=30), now=now)

    assert result.builds == 2
    assert not old.exists()
    assert not other_old.exists()
    assert recent.exists()
    assert (recent / "artifacts" / "deep" / "x.txt").exists()
    assert not (root / "07").exists()  # emptied and old: removed
    assert not (root / "42" / "1042" / "1").exists()
    assert (root / "42" / "1042").exists()  # still holds a recent build
    assert root.exists()


def test_a_fresh_empty_directory_is_left_for_the_build_that_made_it(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    starting = root / "99" / "1099" / "1" / "check" / "job" / "b9"
    starting.mkdir(parents=True)
    assert prune_logs(root, timedelta(days=30)).directories == 0
    assert starting.exists()


def test_a_missing_root_prunes_nothing(tmp_path: Path) -> None:
    assert prune_logs(tmp_path / "none", timedelta(days=1)).builds == 0


async def test_the_periodic_task_prunes_until_cancelled(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    old = make_build(root, "01/101/1/check/job/b1", 40, time.time())
    task = asyncio.create_task(prune_periodically(root, timedelta(days=30), interval=0.05))
    async with asyncio.timeout(30):
        while old.exists():
            await asyncio.sleep(0.02)
    make_build(root, "02/102/1/check/job/b2", 40, time.time())
    async with asyncio.timeout(30):
        while (root / "02").exists():
            await asyncio.sleep(0.02)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
