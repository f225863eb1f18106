"""ConsoleHub: followers of a build's console are woken the moment a line is written.

The executor calls `wrote(build_id)` after each line reached console.log (a listener of
its ConsoleLog); every follower of that build wakes and reads the file. Polling the
file instead would cost either latency or CPU per follower; a wake costs a dict lookup
when nobody follows.

Each follower holds a `Watch` (an asyncio.Event of its own loop) for as long as it
follows. A wake that comes while the follower is reading stays set, so the line
written between its read and its next wait is never missed. The hub only says
"look"; the file stays the truth, and a follower still polls it now and then, since
another process (a second serve on the same logs) never calls this hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Watch:
    """One follower's wake-up: set by every write since its last `wait` returned."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def wake(self) -> None:
        """From any thread: an asyncio.Event may only be set on its own loop."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._event.set()
            return
        # A closed loop raises: nobody is left to wake.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """Until a write since the last wait returned, or `timeout` seconds; whether one came."""
        if not self._event.is_set():
            try:
                async with asyncio.timeout(timeout):
                    await self._event.wait()
            except TimeoutError:
                return False
        self._event.clear()
        return True


class ConsoleHub:
    """In-process notifier between the executor's consoles and their followers."""

    def __init__(self) -> None:
        # The executor may write from another thread than the followers' loop.
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}

    def wrote(self, build_id: str) -> None:
        """A line was written to the build's console: wake its followers. Called for
        every line, so it must stay cheap when nobody follows."""
        if build_id not in self._watches:
            return
        with self._lock:
            woken = list(self._watches.get(build_id, ()))
        for watch in woken:
            watch.wake()

    @contextmanager
    def watch(self, build_id: str) -> Iterator[Watch]:
        """Follow one build from the running loop until the block ends."""
        watch = Watch(asyncio.get_running_loop())
        with self._lock:
            self._watches.setdefault(build_id, set()).add(watch)
        try:
            yield watch
        finally:
            with self._lock:
                watches = self._watches.get(build_id)
                if watches is not None:
                    watches.discard(watch)
                    if not watches:
                        del self._watches[build_id]

    def followers(self, build_id: str) -> int:
        """How many follow the build now."""
        with self._lock:
            return len(self._watches.get(build_id, ()))
