"""What crosscheck does to a mirror's files itself, not through git.

Its file lock and how long a wait for it may last; the count of fetches beside it; the
configuration written back and the files a build may have planted removed before each
fetch; a lock file git trips over removed; broken refs cleared for a fetch anew; a
corrupt mirror removed once set aside.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import stat
import time
from pathlib import Path

from crosscheck.executor.git import GitError

log = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.1
#: Seconds waiting for a mirror's file lock before it is said, and given up.
LOCK_WARN_AFTER = 30.0
LOCK_GIVE_UP = 900.0
#: git's words for a lock file already there. Every git of ours that writes a mirror runs
#: under its flock, and none runs git's automatic gc: a lock found there is a killed
#: git's leftover, or planted by a build. Removed, not a reason to fetch the whole mirror
#: anew under the workspaces that borrow its objects.
_LOCKED = re.compile(r"unable to create '([^']+\.lock)'", re.I)


def count_fetch(mirror: Path, every: int) -> bool:
    """Count a fetch into `mirror` (under its lock); whether a tidy-up is due now. The
    file lies where builds on this host can write: it is read only when a regular file
    (never a FIFO, never through a link), and replaced, never written through."""
    counter = mirror.with_name(mirror.name + ".fetches")
    fetches = _read_count(counter) + 1
    due = fetches >= every
    written = counter.with_name(f"{counter.name}.{os.getpid()}")
    with contextlib.suppress(OSError):  # a count lost costs a late tidy-up, no more
        written.unlink(missing_ok=True)
        fd = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(str(0 if due else fetches))
        os.replace(written, counter)
    return due


def _read_count(counter: Path) -> int:
    try:
        fd = os.open(counter, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # the first fetch, or a link: start again
        return 0
    with os.fdopen(fd, "rb") as read:
        if not stat.S_ISREG(os.fstat(read.fileno()).st_mode):
            return 0
        try:
            return int(read.read(32))
        except ValueError:  # mangled: start again
            return 0


#: What opening the lock file meets when a build left something else in its place: a link
#: (O_NOFOLLOW), a directory, a socket.
_NOT_A_LOCK = frozenset({errno.ELOOP, errno.EISDIR, errno.ENXIO})
#: Times the lock is taken again when its file was replaced while this process waited.
MOST_LOCK_RETRIES = 10


def open_lock(lock_file: Path) -> int:
    """The mirror's lock file, opened: never through a link a build left in its place."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        return os.open(lock_file, flags, 0o600)
    except OSError as error:
        # Out of file descriptors, or no permission: said as it is. Removing the file then
        # would let the next process lock a new one while another holds this one.
        if error.errno not in _NOT_A_LOCK:
            raise
        remove_any(lock_file)
        return os.open(lock_file, flags, 0o600)


def is_the_lock(fd: int, lock_file: Path) -> bool:
    """Whether the file `fd` locked is still the one at `lock_file`: not removed, nor
    replaced, while this process waited for it (each process would then lock its own)."""
    try:
        there = os.lstat(lock_file)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)


async def hold_lock(lock_file: Path) -> int:
    """The mirror's lock file, opened and locked (closing the descriptor releases it)."""
    for _ in range(MOST_LOCK_RETRIES):
        fd = await asyncio.to_thread(open_lock, lock_file)
        try:
            await take_flock(fd, lock_file)
            if await asyncio.to_thread(is_the_lock, fd, lock_file):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise GitError(f"{lock_file} was replaced {MOST_LOCK_RETRIES} times while being locked")


async def take_flock(fd: int, lock_file: Path) -> None:
    """Take the mirror's file lock: said after LOCK_WARN_AFTER seconds of waiting (another
    crosscheck process fetching, or a process a build left behind holding it), given up
    after LOCK_GIVE_UP (a GitError: the build ends as an infrastructure error, tried
    again later). Polling keeps the wait cancellable; a blocking flock in a thread would
    not be."""
    began, warned = time.monotonic(), False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            waited = time.monotonic() - began
            if waited >= LOCK_GIVE_UP:
                raise GitError(
                    f"{lock_file} has been held by another process for {waited:.0f}s: "
                    "giving up (`fuser` names it)"
                ) from None
            if waited >= LOCK_WARN_AFTER and not warned:
                warned = True
                log.warning(
                    "waiting %.0fs for %s, held by another process (a crosscheck fetching, "
                    "or a process a build left behind)",
                    waited,
                    lock_file,
                )
            await asyncio.sleep(LOCK_POLL_SECONDS)


#: A mirror's configuration, as `git init --bare` writes it: what the fetch runs with.
MIRROR_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
#: Files no mirror of ours has, which a build on this host could plant to change what a
#: fetch or a clone does: read its configuration (and more) from another directory, make
#: the mirror shallow (a clone of it then borrows nothing), borrow objects (over HTTP
#: too), graft history, or read more configuration.
PLANTED = (
    "commondir",
    "shallow",
    "objects/info/alternates",
    "objects/info/http-alternates",
    "info/grafts",
    "config.worktree",
)
#: Files git reads or writes in every mirror: anything but a regular file there (a FIFO
#: would hang git and this process, a link to /dev/zero never end) is removed.
READ_BY_GIT = ("HEAD", "packed-refs", "FETCH_HEAD")
#: git's word for a mirror it cannot trust: a fetch that meets it sets the mirror aside.
UNTRUSTED = "corrupt"
#: Bytes read at a time from packed-refs when looking for a branch.
_CHUNK = 1 << 20


def reset_and_check_branches(mirror: Path) -> bool:
    """`reset` (warning of what it undid), then whether the mirror holds any branch."""
    undone = reset(mirror)
    if undone:
        log.warning(
            "mirror %s: undone before fetching, as a build on this host may have planted them: %s",
            mirror,
            ", ".join(undone),
        )
    return has_branches(mirror)


def reset(mirror: Path) -> list[str]:
    """Put the mirror's configuration back as made, remove what a build may have planted
    (a build on this host can write its mirror: a proxy or a URL rewrite in its config
    would send the fetch and its credentials elsewhere); what it undid. A mirror that
    cannot be put back (a file made immutable or unwritable) raises a GitError calling
    it corrupt: it is set aside and fetched anew, never fetched into as it is."""
    undone: list[str] = []
    try:
        config = mirror / "config"
        if not _regular_or_absent(config):  # a FIFO would block the write for ever
            remove_any(config)
        if not config.is_file() or config.read_text(errors="replace") != MIRROR_CONFIG:
            undone.append("config")
            config.write_text(MIRROR_CONFIG, encoding="utf-8")
        for planted in PLANTED:
            if (mirror / planted).exists() or (mirror / planted).is_symlink():
                undone.append(planted)
                remove_any(mirror / planted)
        for read in READ_BY_GIT:
            if not _regular_or_absent(mirror / read):
                undone.append(read)
                remove_any(mirror / read)
        refs = mirror / "refs"
        if not refs.is_dir() or refs.is_symlink():
            undone.append("refs")
            remove_any(refs)
            (refs / "heads").mkdir(parents=True)
    except OSError as error:
        raise GitError(
            f"mirror {mirror} is {UNTRUSTED}: its configuration cannot be written back ({error})"
        ) from error
    return undone


def remove_any(path: Path) -> None:
    """Remove whatever stands at `path`: a file, a link, a FIFO, a directory."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _regular_or_absent(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return True


def has_branches(mirror: Path) -> bool:
    """Whether the mirror holds any branch, loose or packed; packed-refs is read a chunk
    at a time (a file without newlines would otherwise be read whole)."""
    if any(path.is_file() for path in (mirror / "refs" / "heads").rglob("*")):
        return True
    packed = mirror / "packed-refs"
    if not packed.exists():
        return False
    wanted, tail = b" refs/heads/", b""
    with packed.open("rb") as chunks:
        while chunk := chunks.read(_CHUNK):
            if wanted in tail + chunk:
                return True
            tail = chunk[-len(wanted) :]
    return False


def remove_lock(lock: Path) -> None:
    """Remove a lock git found in the way: a file a killed git left, or whatever a build
    planted under that name (a directory too). GitError when it cannot be removed."""
    try:
        if lock.is_dir() and not lock.is_symlink():
            shutil.rmtree(lock)
        else:
            lock.unlink(missing_ok=True)
    except OSError as error:
        raise GitError(f"cannot remove the stale lock {lock}: {error}") from error


def stale_lock(stderr: str, mirror: Path) -> Path | None:
    """The lock file git could not create, when it lies inside `mirror`."""
    found = _LOCKED.search(stderr)
    if found is None:
        return None
    lock = Path(found.group(1))
    lock = lock if lock.is_absolute() else mirror / lock
    inside = lock.parent.resolve().is_relative_to(mirror.resolve())
    return lock if inside and lock.name.endswith(".lock") else None


def clear_refs(mirror: Path) -> None:
    """Remove every ref of the mirror, and point HEAD at master: its objects stay."""
    remove_any(mirror / "packed-refs")
    remove_any(mirror / "refs")
    remove_any(mirror / "HEAD")
    for directory in ("heads", "tags"):
        (mirror / "refs" / directory).mkdir(parents=True, exist_ok=True)
    (mirror / "HEAD").write_text("ref: refs/heads/master\n", encoding="utf-8")


def remove_aside(path: Path) -> None:
    aside = path.with_name(f"{path.name}.corrupt-{os.getpid()}-{time.monotonic_ns()}")
    with contextlib.suppress(FileNotFoundError):
        path.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
