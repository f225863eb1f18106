"""A running GerritEventSource against the sandbox, recording what reaches the sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.drivers.gerrit.stream import StreamSettings, StreamState
from crosscheck.events.intake import EventIntake
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event
from crosscheck.sandbox.gerrit import SandboxState
from crosscheck.store import open_store

FAST = StreamSettings(base_backoff=0.2, max_backoff=1.0, keepalive_interval=5)


def sandbox_connection(state: SandboxState) -> GerritConnection:
    return GerritConnection(
        name="sandbox",
        host="127.0.0.1",
        user=state.ci.username,
        http_url=state.http_url,
        ssh_port=state.ssh_port,
        ssh_key=state.ci.ssh_key,
        known_hosts=state.known_hosts,
        http_password_file=state.ci_password_file,
    )


class RecordingSink:
    """The events the intake accepted, in order, once their transaction committed.

    An event whose transaction rolled back (a source cancelled between the sink and
    the commit) is not recorded: it was not processed, and it will come again. (A
    cancel landing inside the commit itself, after the database committed, would
    lose the record of an event that is done: a window too narrow to matter here.)
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrivals: list[float] = []  # perf_counter() when each event was committed
        self._uncommitted: Event | None = None

    async def __call__(self, event: Event, _: AsyncConnection) -> None:
        self._uncommitted = event  # the intake submits one event at a time

    def committed(self) -> None:
        if self._uncommitted is not None:
            self.events.append(self._uncommitted)
            self.arrivals.append(time.perf_counter())
            self._uncommitted = None

    async def wait_for(self, done: Callable[[list[Event]], bool], timeout: float = 60) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not done(self.events):
                    await asyncio.sleep(0.05)
        except TimeoutError:
            seen = [(e.type, e.origin.value, e.change and e.change.number) for e in self.events]
            raise AssertionError(
                f"not there after {timeout} s; {len(seen)} events: {seen}"
            ) from None


@asynccontextmanager
async def running_source(
    state: SandboxState, store: Path, sink: RecordingSink, settings: StreamSettings = FAST
) -> AsyncIterator[GerritEventSource]:
    engine = await open_store(f"sqlite+aiosqlite:///{store}")
    rest = GerritRestClient(state.http_url, state.ci.username, state.ci.http_password)
    source = GerritEventSource(
        sandbox_connection(state),
        EventIntake(engine, sink, on_committed=sink.committed),
        rest,
        settings,
    )
    task = asyncio.create_task(source.run())
    try:
        await wait_state(source, StreamState.CONNECTED)
        yield source
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await rest.aclose()
        await engine.dispose()


async def wait_state(source: GerritEventSource, state: StreamState, timeout: float = 30) -> None:
    async def waiting() -> None:
        while source.stream.state is not state:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(waiting(), timeout)
