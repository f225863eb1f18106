"""The transitions hub on SQLite and PostgreSQL: a move is published once its transaction
committed, with the state it left, and never for a transaction rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.states import BuildState, BuildTransition, ItemState, Transition
from crosscheck.scheduler.enqueue import enqueue_item
from crosscheck.store import open_store, work
from crosscheck.store.transitions import Transitions
from tests.unit.scheduler.test_scheduler import load, patchset_created


async def enqueue_and_roll_back(engine: AsyncEngine, tmp_path: Path) -> None:
    async with engine.begin() as db:
        await enqueue_item(db, load(tmp_path).pipelines["check"], patchset_created(8, 1))
        raise RuntimeError("rolled back")


async def test_committed_moves_are_published_with_their_from_state(
    store_url: str, tmp_path: Path
) -> None:
    engine = await open_store(store_url)
    hub = Transitions()
    hub.attach(engine)
    seen: list[Transition] = []
    hub.subscribe(seen.append)
    check = load(tmp_path).pipelines["check"]
    try:
        async with engine.begin() as db:
            first = await enqueue_item(db, check, patchset_created(7, 1))
            assert first is not None
            assert await work.plan_item(db, first, ItemState.RUNNING)
            await work.add_builds(db, first, [("unit", True)])
        (unit,) = [m.build_id for m in seen if isinstance(m, BuildTransition)]
        async with engine.begin() as db:
            assert await work.start_build(db, unit, "local-0", f"{unit}/")
        with pytest.raises(RuntimeError):
            await enqueue_and_roll_back(engine, tmp_path)
        async with engine.begin() as db:  # a new patchset supersedes the first
            second = await enqueue_item(db, check, patchset_created(7, 2))
    finally:
        await engine.dispose()
    assert [
        (type(m).__name__, m.from_state, m.to_state, m.pipeline, m.at.tzinfo is not None)
        for m in seen
    ] == [
        ("ItemTransition", None, ItemState.NEW, "check", True),
        ("ItemTransition", ItemState.NEW, ItemState.RUNNING, "check", True),
        ("BuildTransition", None, BuildState.WAITING, "check", True),
        ("BuildTransition", BuildState.WAITING, BuildState.RUNNING, "check", True),
        ("ItemTransition", ItemState.RUNNING, ItemState.SUPERSEDED, "check", True),
        ("BuildTransition", BuildState.RUNNING, BuildState.CANCELED, "check", True),
        ("ItemTransition", None, ItemState.NEW, "check", True),
    ]
    canceled = seen[-2]
    assert isinstance(canceled, BuildTransition)
    assert (canceled.item_id, canceled.result) == (first, "CANCELED")
    assert seen[-1].item_id == second
