"""One mirror's fetches, shared by the builds waiting on it.

One fetch runs at a time per mirror. A build arriving while one runs waits for it
when it brings what the build wants and began after the build's event; otherwise
the build's refs join the next fetch, which starts when the running one ends: a burst
of builds on one project costs two fetches, not one each. The next fetch runs in a
task of its own, so a build cancelled while waiting never cancels it for the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from crosscheck.executor.fetch_plan import Fetch
from crosscheck.executor.git import GitError

#: Runs one fetch; the batch's first build's (every build of a mirror fetches alike).
Runner = Callable[[Fetch], Awaitable[None]]


@dataclass
class _Batch:
    fetch: Fetch
    run: Runner
    done: asyncio.Future[None]
    started_at: float | None = None
    builds: int = 1
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class FetchBatches:
    """The running fetch of one mirror, and the next one builds join."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._running: _Batch | None = None
        self._next: _Batch | None = None
        #: Fetches run, and builds served: for tests and benches.
        self.fetches = 0
        self.requests = 0

    async def fetch(self, wanted: Fetch, since: float, run: Runner) -> None:
        """Bring `wanted` into the mirror by a fetch begun at `since` or later."""
        self.requests += 1
        running = self._running
        if (
            running is not None
            and running.started_at is not None
            and running.started_at >= since
            and running.fetch.covers(wanted)
        ):
            await asyncio.shield(running.done)
            return
        batch = self._next
        if batch is None:
            batch = self._next = self._form(wanted, run)
        else:
            batch.fetch = batch.fetch.join(wanted)
            batch.builds += 1
        await asyncio.shield(batch.done)

    def _form(self, wanted: Fetch, run: Runner) -> _Batch:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Builds cancelled meanwhile leave nobody to read a failure: never warn about it.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        batch = _Batch(wanted, run, done)
        batch.task = asyncio.create_task(self._drive(batch, self._running))
        return batch

    async def _drive(self, batch: _Batch, before: _Batch | None) -> None:
        if before is not None:
            await asyncio.wait([before.done])
        if self._next is batch:
            self._next = None
        self._running = batch
        batch.started_at = self._clock()
        self.fetches += 1
        try:
            await batch.run(batch.fetch)
        except asyncio.CancelledError:
            batch.done.set_exception(GitError("the fetch was cancelled: the service stops"))
            raise
        except Exception as error:
            batch.done.set_exception(error)
        else:
            batch.done.set_result(None)
        finally:
            if self._running is batch:
                self._running = None
