"""Where events from every source meet: each one is processed exactly once.

Stream, catch-up and webhooks may deliver the same event. `EventIntake.submit`
checks it against the events already seen, hands a new one to the sink, records
it as seen and advances the connection's cursor, all in one transaction: if the
sink fails or the process dies, nothing is recorded and the event comes again.

The cursor is a low-water mark for catch-up: everything up to it was processed.
So only in-order sources (the stream, catch-up) move it, never a webhook or the
timer, and never past the local clock (a Gerrit clock running ahead must not hide
events). The timer keeps a cursor of its own under its reserved name, `timer`.

Several crosscheck processes may share one PostgreSQL database: there the check
and the insert are serialised per event by a transaction-scoped advisory lock,
since copies are matched with a time tolerance no unique index can express.
On SQLite the same is done by taking the database's write lock first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.events import Event, Origin, sameness_digest
from crosscheck.store.tables import event_cursors, seen_events

log = logging.getLogger(__name__)

#: Receives each new event inside the intake's transaction, so its writes commit with it.
Accept = Callable[[Event, AsyncConnection], Awaitable[None]]

#: Copies of one event may carry times a second or two apart (stream vs REST).
TIME_TOLERANCE = 2


class EventIntake:
    def __init__(
        self,
        engine: AsyncEngine,
        sink: Accept,
        *,
        on_committed: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.sink = sink
        #: Called after each new event's transaction committed: what the sink wrote is
        #: visible to other connections only from then (the scheduler's loop wakes here).
        self.on_committed = on_committed
        self._lock = asyncio.Lock()  # one check-then-insert at a time in this process
        self.accepted = 0
        self.duplicates = 0

    async def submit(self, event: Event) -> bool:
        """Process the event unless it was processed already; return whether it was new."""
        async with self._lock, self.engine.begin() as connection:
            await _lock_sameness(connection, event)
            if await _seen(connection, event):
                self.duplicates += 1
                log.debug("duplicate %s from %s: %s", event.type, event.origin, event.key)
                return False
            await self.sink(event, connection)
            await _remember(connection, event)
            if event.origin.in_order:
                await _advance(connection, event.connection, min(event.created_on, time.time()))
        self.accepted += 1
        if self.on_committed is not None:
            self.on_committed()
        return True

    async def cursor(self, connection_name: str) -> float | None:
        """The time of the newest event processed from a connection."""
        async with self.engine.connect() as connection:
            row = await connection.scalar(
                select(event_cursors.c.last_event_at).where(
                    event_cursors.c.connection == connection_name
                )
            )
        return float(row) if row is not None else None

    async def start_cursor(self, connection_name: str, at: float) -> None:
        """Begin a connection's history at `at` when it has none yet."""
        async with self.engine.begin() as connection:
            await _advance(connection, connection_name, at)
            await connection.execute(
                update(event_cursors)
                .where(event_cursors.c.connection == connection_name)
                .where(event_cursors.c.started_at.is_(None))
                .values(started_at=at)
            )

    async def advance_cursor(self, name: str, at: float) -> None:
        """Move a cursor forward to `at` (never back), creating it if needed."""
        async with self.engine.begin() as connection:
            await _advance(connection, name, at)

    async def history_start(self, connection_name: str) -> float | None:
        """When crosscheck began listening to a connection; None for cursors older than
        that record (migration 0004)."""
        async with self.engine.connect() as connection:
            row = await connection.scalar(
                select(event_cursors.c.started_at).where(
                    event_cursors.c.connection == connection_name
                )
            )
        return float(row) if row is not None else None

    async def prune(self, connection_name: str, older_than: timedelta, *, before: float) -> int:
        """Forget events received longer ago than `older_than` and created before `before`
        (the caller passes a time no source will deliver events from again)."""
        cutoff = datetime.now(UTC) - older_than
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(seen_events)
                .where(seen_events.c.connection == connection_name)
                .where(seen_events.c.received_at < cutoff)
                .where(seen_events.c.created_on < before)
            )
        return result.rowcount or 0

    async def seen_count(self, connection_name: str) -> int:
        async with self.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count())
                .select_from(seen_events)
                .where(seen_events.c.connection == connection_name)
            )
        return int(count or 0)


async def _lock_sameness(connection: AsyncConnection, event: Event) -> None:
    if connection.dialect.name == "postgresql":
        lock_id = int(sameness_digest(event)[:15], 16)  # fits a signed 64-bit key
        await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    elif connection.dialect.name == "sqlite":
        # The driver begins SQLite's transaction lazily, at the first write: without a
        # write first, two processes could both read "not seen". A no-op write takes
        # the database's write lock before the check.
        await connection.execute(
            update(event_cursors)
            .where(event_cursors.c.connection == event.connection)
            .values(updated_at=event_cursors.c.updated_at)
        )


async def _seen(connection: AsyncConnection, event: Event) -> bool:
    rows = await connection.execute(
        select(seen_events.c.created_on, seen_events.c.origin)
        .where(seen_events.c.connection == event.connection)
        .where(seen_events.c.sameness == sameness_digest(event))
    )
    # The stream never repeats itself: two alike stream events are two events (a
    # state toggled twice in one second). Keeping both may let catch-up bring one of
    # them again; dropping one would lose it.
    copies = [row.created_on for row in rows if not _both_streamed(event.origin, row.origin)]
    if event.type == "patchset-created":
        # A patchset is created once: stream (eventCreatedOn) and REST (revision created)
        # times may differ by more than the tolerance on a busy server.
        return bool(copies)
    return any(abs(seen - event.created_on) <= TIME_TOLERANCE for seen in copies)


def _both_streamed(origin: Origin, seen_origin: str) -> bool:
    return origin is Origin.STREAM and seen_origin == Origin.STREAM.value


async def _remember(connection: AsyncConnection, event: Event) -> None:
    await connection.execute(
        insert(seen_events).values(
            connection=event.connection,
            sameness=sameness_digest(event),
            created_on=event.created_on,
            event_key=event.key,
            received_at=datetime.now(UTC),
            origin=event.origin.value,
        )
    )


async def _advance(connection: AsyncConnection, name: str, at: float) -> None:
    now = datetime.now(UTC)
    current = await connection.scalar(
        select(event_cursors.c.last_event_at).where(event_cursors.c.connection == name)
    )
    if current is None:
        await connection.execute(
            insert(event_cursors).values(connection=name, last_event_at=at, updated_at=now)
        )
    elif at > current:
        await connection.execute(
            update(event_cursors)
            .where(event_cursors.c.connection == name)
            .values(last_event_at=at, updated_at=now)
        )
