"""Snapshots of a costly read, served while young and refreshed behind the reader.

The health table reads a month of every CI account's activity: 100-160 ms at 5 million
results, most of it the statistics' partial days and rendering 180 rows. Its figures
are over 24 hours to 30 days, so a reader is well served by figures a few seconds old,
as Stackalytics served its precomputed ones, provided the page says when they were
taken and they are never far behind the store. The policy:

- younger than `recheck_after`: served as it is;
- older: the store's version (its newest result, account change, merge) is read on
  each reader's request, a few index lookups. Moved: until `refresh_after` the
  snapshot is served and refreshed behind the reader; after, the reader waits for a
  fresh read, so no reader sees figures the store moved past more than a minute ago.
  Unmoved but past `refresh_after`: served, and refreshed behind the reader (the
  windows slide with time alone);
- older than `max_age`, or none yet: read while the reader waits;
- the store not answering the version: the snapshot is served until `max_age`, and
  the log says so once per outage.

One read runs at a time per key, and readers who must wait share it. Nothing runs
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
from crosscheck.http.store_outage import is_store_outage, store_reason
from crosscheck.model.build import format_duration

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
    refresh behind the readers renders the table, not the next reader). `name` says
    what the snapshots are of, in the log."""

    def __init__(
        self,
        take: Callable[[Key], Awaitable[Value]],
        version: Callable[[], Awaitable[Hashable]],
        *,
        policy: SnapshotPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        ready: Callable[[Snapshot[Value]], None] | None = None,
        name: str = "snapshot",
    ) -> None:
        self._take = take
        self._ready = ready
        self._version = version
        self.policy = policy or SnapshotPolicy()
        self._clock = clock
        self.name = name
        self._snapshots: dict[Key, Snapshot[Value]] = {}
        self._taking: dict[Key, asyncio.Task[Snapshot[Value]]] = {}
        #: Keys whose read in flight has readers waiting for it.
        self._waited: set[Key] = set()
        #: Whether the store failed the last time it was asked (one warning per outage).
        self._failing = False

    async def get(self, key: Key) -> Snapshot[Value]:
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            return await self._taken(key)
        age = self._clock() - snapshot.taken
        # Others wait for a read of figures the store moved past: so does this reader.
        if age >= self.policy.max_age or key in self._waited:
            return await self._taken(key)
        if age < self.policy.recheck_after or key in self._taking:
            return snapshot
        old = age >= self.policy.refresh_after
        moved = await self._moved(snapshot)
        if moved is None:  # the store cannot say: what was read is all there is
            return snapshot
        if moved and old:  # figures the store moved past a minute ago: read them now
            return await self._taken(key)
        if moved or old:  # old: the windows slide with time alone
            self._refresh_behind(key)
        return snapshot

    async def _moved(self, snapshot: Snapshot[Value]) -> bool | None:
        """Whether the store moved since `snapshot`; None when it does not answer."""
        try:
            version = await self._version()
        except Exception as error:
            if not is_store_outage(error):
                raise  # a fault of the read itself, not the store away
            self._failed(error, snapshot)
            return None
        self._answered()
        return version != snapshot.version

    async def _taken(self, key: Key) -> Snapshot[Value]:
        """The read in flight, or a new one, with this reader waiting for it."""
        task = self._taking.get(key) or self._start(key)
        self._waited.add(key)
        # Shielded: a reader who goes away does not cancel the others' read.
        return await asyncio.shield(task)

    def _refresh_behind(self, key: Key) -> None:
        served = self._snapshots[key]

        def said(task: asyncio.Task[Snapshot[Value]]) -> None:
            if not task.cancelled() and (error := task.exception()) is not None:
                self._failed(error, served)

        self._start(key).add_done_callback(said)

    def _start(self, key: Key) -> asyncio.Task[Snapshot[Value]]:
        task = asyncio.create_task(self._read(key), name=f"{self.name} {key!r}")
        self._taking[key] = task
        task.add_done_callback(lambda _: self._ended(key))
        # Its readers are told of a failure; this keeps asyncio from reporting it again
        # when every one of them has gone away.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return task

    def _ended(self, key: Key) -> None:
        self._taking.pop(key, None)
        self._waited.discard(key)

    async def _read(self, key: Key) -> Snapshot[Value]:
        began = self._clock()
        # The version first: a write landing during the read moves it, and the next
        # recheck refreshes.
        version = await self._version()
        snapshot = Snapshot(await self._take(key), began, version)
        if self._ready is not None:
            self._ready(snapshot)
        self._snapshots[key] = snapshot
        self._answered()
        return snapshot

    def _failed(self, error: BaseException, served: Snapshot[Value]) -> None:
        """A warning when the store first fails, not at each reader's recheck."""
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        age = self._clock() - served.taken
        logger.log(
            level,
            "%s: the store does not answer (%s); readers get the figures read %s ago for %s more",
            self.name,
            store_reason(error),
            format_duration(age),
            format_duration(self.policy.max_age - age),
        )

    def _answered(self) -> None:
        if self._failing:
            self._failing = False
            logger.info("%s: the store answers again", self.name)
