"""The queue's change-wide queries on SQLite and PostgreSQL: a closed change's items ended
with their builds counted, and the newest patchset known from items and seen events."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.events.intake import EventIntake
from crosscheck.model.events import Event
from crosscheck.model.states import ItemState
from crosscheck.scheduler.enqueue import enqueue_item
from crosscheck.store import open_store, work
from tests.unit.scheduler.test_scheduler import load, patchset_created


def in_project(event: Event, project: str) -> Event:
    assert event.change is not None
    return replace(event, project=project, change=replace(event.change, project=project))


async def test_a_closed_changes_items_end_with_their_live_builds_counted(
    store_url: str, tmp_path: Path
) -> None:
    engine = await open_store(store_url)
    check = load(tmp_path).pipelines["check"]
    try:
        async with engine.begin() as db:
            first = await enqueue_item(db, check, patchset_created(21, 1))
            other = await enqueue_item(db, check, patchset_created(22, 1))
            assert first is not None
            assert other is not None
            await work.add_builds(db, first, [("unit", True), ("lab", False)])
            ended = await work.end_change(db, "review", 21, ItemState.DEQUEUED, "change abandoned")
            again = await work.end_change(db, "review", 21, ItemState.DEQUEUED, "change abandoned")
            untouched = await work.item(db, other)
        assert ended == [work.EndedItem(first, "check", 2)]
        assert again == []  # ended already: nothing to end twice
        assert untouched.state == "new"
    finally:
        await engine.dispose()


async def test_the_newest_patchset_is_read_from_items_and_from_seen_events(
    store_url: str, tmp_path: Path
) -> None:
    engine = await open_store(store_url)
    check = load(tmp_path).pipelines["check"]

    async def ignore(event: Event, db: AsyncConnection) -> None:
        return None

    intake = EventIntake(engine, ignore)
    try:
        # `_` and `%` are LIKE wildcards: a project named with them matches only itself.
        tricky = "acme/dri_er%"
        assert await intake.submit(in_project(patchset_created(31, 4), tricky))
        assert await intake.submit(in_project(patchset_created(31, 7), "acme/driverX"))
        async with engine.begin() as db:
            await enqueue_item(db, check, patchset_created(31, 2))
            # Unescaped, the tricky prefix would match acme/driverX's key (patchset 7).
            assert await work.newest_patchset(db, "review", tricky, 31) == 4
            assert await work.newest_patchset(db, "review", "acme/driver", 31) == 2  # its item
            assert await work.newest_patchset(db, "review", "acme/driver", 32) is None
            assert await work.newest_patchset(db, "other", "acme/driver", 31) is None
    finally:
        await engine.dispose()
