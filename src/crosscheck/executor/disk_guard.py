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
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Seconds between two measures, as Zuul's disk accountant: a walk of a big tree (a
#: devstack work directory, hundreds of thousands of files) takes a second or two.
CHECK_INTERVAL = 60.0


class UnmeasurableError(Exception):
    """A directory of the build that stays unreadable even once made readable."""


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_READABLE = stat.S_IRUSR | stat.S_IXUSR


def disk_used(roots: Iterable[Path]) -> int:
    """Bytes the files under `roots` take on disk, each inode once. A directory the
    build made unreadable is made readable (the build runs as this user); one that
    stays so raises UnmeasurableError. Directories are opened relative to their
    parent, so a tree deeper than PATH_MAX is walked too."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root in roots:
        top = _open_root(root)
        if top is not None:
            total += _tree(top, seen)
    return total


def _open_root(root: Path) -> int | None:
    try:
        return os.open(root, _DIRECTORY)
    except FileNotFoundError:
        return None
    except PermissionError:
        os.chmod(root, root.lstat().st_mode | stat.S_IRWXU)
    try:
        return os.open(root, _DIRECTORY)
    except PermissionError as error:
        raise UnmeasurableError(f"{root} cannot be read") from error


def _tree(top: int, seen: set[tuple[int, int]]) -> int:
    """The bytes under the open directory `top` (closed after), depth first: the
    directories open at once are those of one path."""
    total = 0
    stack: list[tuple[int, Iterator[str]]] = [(top, iter(()))]
    try:
        total, subdirectories = _listing(top, seen)
        stack[0] = (top, iter(subdirectories))
        while stack:
            parent, pending = stack[-1]
            name = next(pending, None)
            if name is None:
                os.close(parent)
                stack.pop()
                continue
            child = _open_below(parent, name)
            if child is None:
                continue
            stack.append((child, iter(())))  # closed by the loop, even if the listing fails
            size, below = _listing(child, seen)
            total += size
            stack[-1] = (child, iter(below))
    finally:
        for fd, _ in stack:
            os.close(fd)
    return total


def _listing(directory: int, seen: set[tuple[int, int]]) -> tuple[int, list[str]]:
    """The bytes of the entries of `directory` not seen yet, and its subdirectories."""
    total, subdirectories = 0, []
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                subdirectories.append(entry.name)
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total, subdirectories


def _open_below(parent: int, name: str) -> int | None:
    """The subdirectory `name` of `parent`, opened; made readable first when the build
    took its owner's rights away; None when it is gone (or no longer a directory)."""
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        if not stat.S_ISDIR(mode):
            return None
        if mode & _READABLE != _READABLE:
            os.chmod(name, mode | stat.S_IRWXU, dir_fd=parent)
        return os.open(name, _DIRECTORY, dir_fd=parent)
    except FileNotFoundError:
        return None
    except PermissionError as error:
        raise UnmeasurableError(f"a directory {name!r} of the build cannot be read") from error


async def over_limit(roots: list[Path], limit: int, interval: float = CHECK_INTERVAL) -> str:
    """Return, once the files under `roots` take more than `limit` bytes, what to say
    of it; until then, measure every `interval` seconds (in a thread: a walk blocks)."""
    while True:
        await asyncio.sleep(interval)
        said = await measure(roots, limit)
        if said is not None:
            return said


async def measure(roots: list[Path], limit: int) -> str | None:
    """What to say when the files under `roots` take more than `limit` bytes, or cannot
    be measured (a tree that cannot be measured cannot be let grow); else None."""
    try:
        used = await asyncio.to_thread(disk_used, roots)
    except (UnmeasurableError, OSError) as error:
        return f"the build's use of this host's disk cannot be measured: {error}"
    if used <= limit:
        return None
    return (
        f"the build took {_size(used)} of this host's disk, more than "
        f"executor.disk_limit ({_size(limit)})"
    )


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} bytes"
