"""The intake's exactly-once rule with two crosscheck processes on one database.

Two intakes with their own engines stand for two processes. On PostgreSQL an
advisory lock per event key serialises them; on SQLite the single writer does
(the loser may fail with "database is locked", and the event comes again).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.events.intake import EventIntake
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Account, Change, Event, Origin, PatchSet
from crosscheck.store import open_store


def copy_from(origin: Origin, number: int) -> Event:
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection="review",
        created_on=int(time.time()) - 10,
        project="acme/driver",
        change=Change(project="acme/driver", branch="master", number=number),
        patchset=PatchSet(number=1, revision="a" * 40),
        account=Account(username="dev"),
        origin=origin,
    )


async def test_two_processes_process_an_event_once(store_url: str) -> None:
    processed: list[str] = []

    async def slow_sink(event: Event, _: AsyncConnection) -> None:
        await asyncio.sleep(0.2)  # both processes are inside their transaction together
        processed.append(event.origin.value)

    first, second = await open_store(store_url), await open_store(store_url)
    try:
        for number in range(1, 4):
            outcomes = await asyncio.gather(
                EventIntake(first, slow_sink).submit(copy_from(Origin.STREAM, number)),
                EventIntake(second, slow_sink).submit(copy_from(Origin.WEBHOOK, number)),
                return_exceptions=True,
            )
            accepted = [o for o in outcomes if o is True]
            assert len(accepted) == 1, outcomes
    finally:
        await first.dispose()
        await second.dispose()
    assert len(processed) == 3
