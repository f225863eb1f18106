"""Logs older than the retention period are deleted, build by build.

A build's directory is one holding `build.json`; its age is that file's last
change, which the executor writes when the build ends. Directories left empty are
removed too, but only when they were themselves older than the retention before
this pruning began, so a directory a starting build has just made is never taken
from under it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from crosscheck.executor.records import BUILD_JSON

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 3600.0


@dataclass(frozen=True)
class PruneResult:
    builds: int
    directories: int


def prune_logs(root: Path, retention: timedelta, now: float | None = None) -> PruneResult:
    """Delete the builds under `root` that ended more than `retention` ago."""
    if not root.is_dir():
        return PruneResult(0, 0)
    cutoff = (time.time() if now is None else now) - retention.total_seconds()
    builds = 0
    # Ages as they were before pruning: removing a child touches its parent's time.
    ages: dict[Path, float] = {}
    for directory, subdirectories, files in os.walk(root):
        ages[Path(directory)] = _mtime(Path(directory))
        if BUILD_JSON not in files:
            continue
        subdirectories[:] = []  # a build's own directories go with it
        if _mtime(Path(directory) / BUILD_JSON) < cutoff:
            shutil.rmtree(directory, ignore_errors=True)
            builds += 1
    return PruneResult(builds, _remove_empty(root, cutoff, ages))


def _remove_empty(root: Path, cutoff: float, ages: dict[Path, float]) -> int:
    removed = 0
    for directory, _, _ in os.walk(root, topdown=False):
        path = Path(directory)
        if path == root or ages.get(path, float("inf")) >= cutoff:
            continue
        try:
            path.rmdir()  # only succeeds when empty
        except OSError:
            continue
        removed += 1
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # gone already: nothing to prune


async def prune_periodically(
    root: Path, retention: timedelta, interval: float = DEFAULT_INTERVAL
) -> None:
    """Prune now, then every `interval` seconds, until cancelled; failures are logged."""
    while True:
        try:
            result = await asyncio.to_thread(prune_logs, root, retention)
        except OSError:
            log.exception("pruning the logs in %s failed; trying again in %.0fs", root, interval)
        else:
            if result.builds:
                log.info("pruned %d build log(s) older than %s", result.builds, retention)
        await asyncio.sleep(interval)
