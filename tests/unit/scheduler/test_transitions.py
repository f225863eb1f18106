"""What the scheduler publishes on its hub: every move of an item and of its builds."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.states import (
    BuildState,
    BuildTransition,
    ItemState,
    ItemTransition,
    Transition,
)
from crosscheck.store.transitions import Transitions

from .fakes import FakeExecutor, settle
from .test_scheduler import accept, load, patchset_created, scheduler_for


async def test_an_item_and_its_builds_publish_each_of_their_moves(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler = scheduler_for(engine, load(tmp_path), FakeExecutor({}), ["driver.py"])
    seen: list[Transition] = []
    scheduler.transitions.subscribe(seen.append)
    await accept(scheduler, patchset_created(7, 1))
    await settle(scheduler)

    item_moves = [m for m in seen if isinstance(m, ItemTransition)]
    assert [(m.from_state, m.to_state) for m in item_moves] == [
        (None, ItemState.NEW),
        (ItemState.NEW, ItemState.RUNNING),
        (ItemState.RUNNING, ItemState.FINISHED),
    ]
    (item_id,) = {m.item_id for m in item_moves}
    assert {(m.pipeline, m.connection, m.project, m.change, m.patchset) for m in item_moves} == {
        ("check", "review", "acme/driver", 7, 1)
    }
    assert item_moves[-1].detail == "passed"

    build_moves = [m for m in seen if isinstance(m, BuildTransition)]
    for job in ("lab", "unit"):
        moves = [m for m in build_moves if m.job == job]
        assert [(m.from_state, m.to_state) for m in moves] == [
            (None, BuildState.WAITING),
            (BuildState.WAITING, BuildState.RUNNING),
            (BuildState.RUNNING, BuildState.FINISHED),
        ]
        assert {(m.item_id, m.pipeline, m.attempt) for m in moves} == {(item_id, "check", 1)}
        assert len({m.build_id for m in moves}) == 1
        assert moves[-1].result == "SUCCESS"
    assert len(seen) == len(item_moves) + len(build_moves) == 3 + 2 * 3
    # The item finishes only after its builds did; its report comes with that move.
    assert seen[-1] == item_moves[-1]


async def test_a_scheduler_publishes_on_the_hub_it_is_given(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    hub = Transitions()
    scheduler = scheduler_for(engine, load(tmp_path), FakeExecutor({}), [])
    assert scheduler.transitions is not hub
    given = scheduler_for(engine, load(tmp_path), FakeExecutor({}), [], transitions=hub)
    assert given.transitions is hub
