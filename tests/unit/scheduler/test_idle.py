"""An idle scheduler runs no pass; each cause of work wakes it at once, without a tick."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.build import BuildResult
from crosscheck.model.config import Config
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, Event
from crosscheck.model.states import ItemState
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler import replans
from crosscheck.scheduler import scheduler as scheduler_module
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store.tables import items
from tests.polling import until

from .fakes import FakeChanges, FakeExecutor
from .test_scheduler import accept, load, patchset_created, queued_reports
from .test_timer_items import load as load_timer_config
from .test_timer_items import tick

#: Long enough for a 1 s tick's loop to have run a pass; the idle one must not.
IDLE = 1.5
#: What "promptly" means here: far below a tick, with room for a loaded machine.
PROMPT = 2.0


class Passes:
    """Counts the scheduler's passes (run calls `reconcile` once per pass)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.count = 0
        reconcile = scheduler.reconcile

        async def counted() -> None:
            try:
                await reconcile()
            finally:  # a failed pass is a pass too
                self.count += 1

        scheduler.reconcile = counted  # type: ignore[method-assign]


def idle_scheduler(
    engine: AsyncEngine, config: Config, executor: FakeExecutor, changes: FakeChanges
) -> Scheduler:
    """serve's scheduler: no tick."""
    return Scheduler(
        engine,
        lambda: config,
        executor=executor,
        reports=ReportQueue(engine, {}),
        connections=config.connections,
        changes={"review": changes},
    )


@contextlib.asynccontextmanager
async def running(scheduler: Scheduler) -> AsyncIterator[Passes]:
    passes = Passes(scheduler)
    loop = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: passes.count >= 1, PROMPT, "the scheduler")  # the start's pass
        yield passes
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def quiet(passes: Passes, window: float = 0.2) -> None:
    """Until no pass ran for `window` seconds (what woke the loop has been handled)."""
    async with asyncio.timeout(PROMPT):
        while True:
            seen = passes.count
            await asyncio.sleep(window)
            if passes.count == seen:
                return


async def states(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as db:
        return [row.state for row in (await db.execute(select(items).order_by(items.c.id)))]


async def test_an_idle_scheduler_runs_no_pass(engine: AsyncEngine, tmp_path: Path) -> None:
    scheduler = idle_scheduler(engine, load(tmp_path), FakeExecutor({}), FakeChanges([]))
    assert scheduler.tick is None
    async with running(scheduler) as passes:
        await asyncio.sleep(IDLE)
        assert passes.count == 1


async def test_an_event_is_built_and_reported_on_the_intakes_wake_alone(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({"lab": BuildResult.FAILURE})
    scheduler = idle_scheduler(engine, load(tmp_path), executor, FakeChanges(["a.py"]))
    async with running(scheduler) as passes:
        await accept(scheduler, patchset_created(7, 1))
        scheduler.wake()  # what the intake does once its transaction committed
        # Planned, both builds run, the report queued the moment the last one ended.
        await until(lambda: len(executor.requests) == 2, PROMPT, "the scheduler")
        async with asyncio.timeout(PROMPT):
            while await states(engine) != [ItemState.FINISHED.value]:
                await asyncio.sleep(0.01)
        (report,) = await queued_reports(engine)
        assert report.change_number == 7
        await quiet(passes)  # idle again: passes stop without a tick


async def test_a_build_ending_makes_the_report_at_once(engine: AsyncEngine, tmp_path: Path) -> None:
    executor = FakeExecutor({})
    executor.hold = {"unit"}
    scheduler = idle_scheduler(engine, load(tmp_path), executor, FakeChanges(["a.py"]))
    async with running(scheduler):
        await accept(scheduler, patchset_created(8, 1))
        scheduler.wake()
        await asyncio.wait_for(executor.held.wait(), PROMPT)
        await until(lambda: len(executor.requests) == 2, PROMPT, "the scheduler")
        assert await queued_reports(engine) == []
        executor.release.set()  # nothing else wakes the scheduler
        async with asyncio.timeout(PROMPT):
            while not await queued_reports(engine):
                await asyncio.sleep(0.01)


async def test_an_abandoned_change_cancels_its_builds_on_the_commit_alone(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    executor.hold = {"unit", "lab"}
    scheduler = idle_scheduler(engine, load(tmp_path), executor, FakeChanges(["a.py"]))
    async with running(scheduler) as passes:
        await accept(scheduler, patchset_created(9, 1))
        scheduler.wake()
        await until(lambda: len(executor.holding) == 2, PROMPT, "the scheduler")
        await quiet(passes)  # both builds held: nothing to do until something moves
        held = sorted(executor.holding)
        abandoned = Event(
            type=EventType.CHANGE_ABANDONED.value,
            connection="review",
            created_on=1,
            project="acme/driver",
            change=Change(project="acme/driver", branch="master", number=9),
        )
        await accept(scheduler, abandoned)  # no wake: the committed moves are the cue
        await until(lambda: sorted(executor.canceled) == held, PROMPT, "the scheduler")


async def test_an_item_waiting_its_turn_is_planned_when_the_one_before_ends(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    executor.hold = {"deploy"}
    scheduler = idle_scheduler(engine, load_timer_config(tmp_path), executor, FakeChanges([]))
    async with running(scheduler) as passes:
        await accept(scheduler, tick(at=1_000_020))
        scheduler.wake()
        await asyncio.wait_for(executor.held.wait(), PROMPT)
        await accept(scheduler, tick(at=1_000_080))
        scheduler.wake()
        seen = passes.count
        await until(lambda: passes.count > seen, PROMPT, "the scheduler")
        assert len(executor.requests) == 1  # the second waits its turn
        executor.hold = set()
        executor.release.set()  # the first ends; only its moves wake the scheduler
        await until(lambda: len(executor.requests) == 2, PROMPT, "the scheduler")
        assert executor.requests[1].event.created_on == 1_000_080


async def test_an_item_whose_server_did_not_answer_is_planned_on_its_timer(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replans, "FIRST_DELAY", 0.2)
    changes = FakeChanges(["a.py"])
    changes.unreachable = True
    executor = FakeExecutor({})
    scheduler = idle_scheduler(engine, load(tmp_path), executor, changes)
    async with running(scheduler):
        await accept(scheduler, patchset_created(10, 1))
        scheduler.wake()
        await until(lambda: len(changes.asked) == 1, PROMPT, "the scheduler")
        assert scheduler.replans.next_in() is not None
        changes.unreachable = False  # back, and nothing says so: the timer does
        await until(lambda: len(executor.requests) == 2, PROMPT, "the scheduler")
        assert len(changes.asked) == 2


async def test_a_failed_pass_is_tried_again_on_a_timer(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "FAILED_PASS_DELAY", 0.2)
    executor = FakeExecutor({})
    scheduler = idle_scheduler(engine, load(tmp_path), executor, FakeChanges(["a.py"]))
    builds = scheduler.builds
    start_waiting = builds.start_waiting
    failures = [RuntimeError("the store is away (fake)")]

    async def flaky() -> None:
        if failures:
            raise failures.pop()
        await start_waiting()

    builds.start_waiting = flaky  # type: ignore[method-assign]
    await accept(scheduler, patchset_created(11, 1))
    async with running(scheduler) as passes:  # the start's pass fails
        assert failures == []
        # Nothing woke it but its timer.
        await until(lambda: len(executor.requests) == 2, PROMPT, "the scheduler")
        assert passes.count >= 2
