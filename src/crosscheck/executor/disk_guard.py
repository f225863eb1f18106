"""A build's use of this host's disk, watched while its steps run.

A build writes where it runs (its work directory, on a local slot) and where its
logs go (its console, on every node). Nothing else stops one that fills the disk:
the store and every other build's logs are on it too. As Zuul's executor does
(`disk_limit_per_job`), the directories are measured now and then, and the build is
stopped once they hold more than the limit. Files are counted by the blocks they
take (a sparse file by what it holds) and once per inode (hard links); links are
not followed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path

#: Seconds between two measures, as Zuul's disk accountant: a walk of a big tree (a
#: devstack work directory, hundreds of thousands of files) takes a second or two.
CHECK_INTERVAL = 60.0


def disk_used(roots: Iterable[Path]) -> int:
    """Bytes the files under `roots` take on disk, each inode once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    pending = [str(root) for root in roots]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:  # gone, or not readable: nothing to count there
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


async def over_limit(roots: list[Path], limit: int, interval: float = CHECK_INTERVAL) -> str:
    """Return, once the files under `roots` take more than `limit` bytes, what to say
    of it; until then, measure every `interval` seconds (in a thread: a walk blocks)."""
    while True:
        await asyncio.sleep(interval)
        used = await asyncio.to_thread(disk_used, roots)
        if used > limit:
            return (
                f"the build took {_size(used)} of this host's disk, more than "
                f"executor.disk_limit ({_size(limit)})"
            )


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} bytes"
