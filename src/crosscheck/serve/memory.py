"""Fewer malloc arenas for the long-running service.

glibc gives each thread that allocates concurrently an arena of its own, up to eight per
core, and an arena's freed memory rarely goes back to the system. serve's threads
(aiosqlite's connections, `asyncio.to_thread`'s workers for git and files) mostly wait,
and Python's own code runs one thread at a time, so two arenas cost no measurable
contention; after a burst of builds they keep about 5 MiB less resident (bench/peers).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

#: glibc's mallopt parameter for the most arenas (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Whether glibc took the limit; other C libraries are left as they are. Call it
    before the service starts its threads: arenas already made stay."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    taken = bool(mallopt(M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited to %d: %s", arenas, taken)
    return taken
