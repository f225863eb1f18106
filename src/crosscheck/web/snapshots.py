"""Snapshots of a costly read, served while young and refreshed behind the reader.

The health table reads a month of every CI account's activity: 100-160 ms at 5 million
results, most of it the statistics' partial days and rendering 180 rows. Its figures
are over 24 hours to 30 days, so a reader is well served by figures a few seconds old,
as Stackalytics served its precomputed ones, provided the page says when they were
taken and new results show up promptly. The policy:

- younger than `recheck_after`: served as it is;
- until `refresh_after`: served, and refreshed behind the reader when the store's
  version (its newest result, account change, merge) moved since it was taken;
- until `max_age`: served, and refreshed behind the reader whatever the version (the
  windows slide with time alone);
- older, or none yet: taken while the reader waits.

One refresh runs at a time per key, and readers who must wait share it. Nothing runs
while nobody reads: an idle service pays nothing for its snapshots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from crosscheck.config.pages import SnapshotPolicy

logger = logging.getLogger(__name__)

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

#: Bodies kept per snapshot: the filters are free text, so a stranger could ask for
#: any number of different tables; the first few asked for are kept.
MAX_BODIES = 16


@dataclass
class Snapshot(Generic[Value]):
    value: Value
    #: The clock's reading when the read began (a write during it shows as a change).
    taken: float
    version: Hashable
    bodies: dict[Hashable, bytes] = field(default_factory=dict)
    #: Renderings of parts of the value that every body shares (the table's rows).
    parts: dict[Hashable, Any] = field(default_factory=dict)

    def body(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """A rendering of this snapshot (a page for one query), made once."""
        found = self.bodies.get(key)
        if found is None:
            found = make()
            if len(self.bodies) < MAX_BODIES:
                self.bodies[key] = found
        return found


class Snapshots(Generic[Key, Value]):
    """`take(key)` reads a value afresh; `version()` is a cheap read of what it depends on;
    `ready(snapshot)` prepares what its readers share before any is served it (so a
    refresh behind the readers renders the table, not the next reader)."""

    def __init__(
        self,
        take: Callable[[Key], Awaitable[Value]],
        version: Callable[[], Awaitable[Hashable]],
        policy: SnapshotPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        ready: Callable[[Snapshot[Value]], None] | None = None,
    ) -> None:
        self._take = take
        self._ready = ready
        self._version = version
        self.policy = policy or SnapshotPolicy()
        self._clock = clock
        self._snapshots: dict[Key, Snapshot[Value]] = {}
        self._taking: dict[Key, asyncio.Task[Snapshot[Value]]] = {}

    async def get(self, key: Key) -> Snapshot[Value]:
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            return await self._taken(key)
        age = self._clock() - snapshot.taken
        if age >= self.policy.max_age:
            return await self._taken(key)
        stale = age >= self.policy.refresh_after
        if stale or (age >= self.policy.recheck_after and await self._moved(key, snapshot)):
            self._refresh_behind(key)
        return snapshot

    async def _moved(self, key: Key, snapshot: Snapshot[Value]) -> bool:
        """Whether the store moved since `snapshot` (not asked while a refresh runs)."""
        return key not in self._taking and await self._version() != snapshot.version

    async def _taken(self, key: Key) -> Snapshot[Value]:
        task = self._taking.get(key) or self._start(key)
        # Shielded: a reader who goes away does not cancel the others' read.
        return await asyncio.shield(task)

    def _refresh_behind(self, key: Key) -> None:
        if key not in self._taking:
            self._start(key).add_done_callback(_log_failure)

    def _start(self, key: Key) -> asyncio.Task[Snapshot[Value]]:
        task = asyncio.create_task(self._read(key), name=f"snapshot {key!r}")
        self._taking[key] = task
        task.add_done_callback(lambda _: self._taking.pop(key, None))
        # Its readers are told of a failure; this keeps asyncio from reporting it again
        # when every one of them has gone away.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return task

    async def _read(self, key: Key) -> Snapshot[Value]:
        began = self._clock()
        # The version first: a write landing during the read moves it, and the next
        # recheck refreshes.
        version = await self._version()
        snapshot = Snapshot(await self._take(key), began, version)
        if self._ready is not None:
            self._ready(snapshot)
        self._snapshots[key] = snapshot
        return snapshot


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning(
            "refreshing %s failed, the last one is served until it is too old: %s",
            task.get_name(),
            error,
        )
