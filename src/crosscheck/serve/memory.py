"""Fewer malloc arenas for the long-running service, and its freed heap handed back once
work has ended.

glibc gives each thread that allocates concurrently an arena of its own, up to eight per
core, and an arena's freed memory rarely goes back to the system. serve's threads
(aiosqlite's connections, `asyncio.to_thread`'s workers for git and files) mostly wait,
and Python's own code runs one thread at a time, so two arenas cost no measurable
contention; after a burst of builds they keep about 5 MiB less resident (bench/peers).

glibc also keeps the top of each heap it has freed, in case it is wanted again. A
burst of builds leaves megabytes so; `QuietTrim` gives them back once nothing has moved
for a while, once per spell of work, so an idle serve neither holds them nor wakes for it.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import resource
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

#: glibc's mallopt parameter for the most arenas (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8
ARENAS = 2
#: Seconds without a committed move before the heap is trimmed: longer than the
#: gaps inside a build's or a burst's work, short beside an idle hour.
QUIET_SECONDS = 10.0


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Whether glibc took the limit; other C libraries are left as they are. Call it
    before the service starts its threads: arenas already made stay."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    taken = bool(mallopt(M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited to %d: %s", arenas, taken)
    return taken


def trim_heap() -> bool:
    """Have glibc return every free page it can; False when the C library is not
    glibc. No collection first: a full one costs tens of milliseconds of a 100 MiB
    heap, and what serve frees after work is freed by reference counts."""
    malloc_trim = _glibc("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    malloc_trim(0)
    return True


class QuietTrim:
    """Trims the heap once nothing has moved for `quiet` seconds after something did.
    `moved` is called on each committed transition; `run` waits for them."""

    def __init__(self, quiet: float = QUIET_SECONDS) -> None:
        self.quiet = quiet
        self._moved = asyncio.Event()

    def moved(self, _: object = None) -> None:
        self._moved.set()

    async def run(self) -> None:
        while True:
            await self._moved.wait()
            await self._until_quiet()
            before = _resident_kib() if log.isEnabledFor(logging.DEBUG) else 0
            if trim_heap() and before:
                log.debug("heap trimmed: %d KiB resident, was %d", _resident_kib(), before)

    async def _until_quiet(self) -> None:
        while self._moved.is_set():
            self._moved.clear()
            try:
                await asyncio.wait_for(self._moved.wait(), self.quiet)
            except TimeoutError:
                return


def _glibc(function: str) -> Any:
    """`function` of the C library when it is glibc's (musl has neither mallopt nor
    malloc_trim); None otherwise."""
    name = _c_library()
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return None


@cache
def _c_library() -> str | None:
    """The C library's file name, looked up once: `find_library` runs `ldconfig -p` in a
    child process, which a trim on the event loop must not wait for each time."""
    return ctypes.util.find_library("c")


def _resident_kib() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024
