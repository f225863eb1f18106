"""Timer snapshots: a candidate of the components' refs at each scheduled time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.events.intake import EventIntake
from crosscheck.model.events import Event
from crosscheck.model.promotion import JobCriterion, Level
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.promotion.candidates import CandidateMaker
from crosscheck.promotion.snapshots import CURSOR, Snapshots
from crosscheck.store import promotion as store

from .test_candidates import FakeRefs

#: 2026-12-05 02:59:30 UTC: half a minute before a 03:00 snapshot.
BEFORE = datetime(2026, 12, 5, 2, 59, 30, tzinfo=UTC).timestamp()


def scenario(snapshot: str | None) -> Scenario:
    return Scenario(
        "os-nosdn",
        components=(Component("nova", RefKind.BRANCH, "master", connection="os", project="nova"),),
        levels=(Level("verified", None, (JobCriterion(("unit",)),), ("ci",)),),
        snapshot=snapshot,
    )


async def ignore(event: Event, db: AsyncConnection) -> None:
    return None


@pytest.fixture
def refs() -> FakeRefs:
    return FakeRefs({("nova", "branch", "master"): "1" * 40})


async def test_a_snapshot_is_taken_at_its_time_and_once(
    engine: AsyncEngine, refs: FakeRefs
) -> None:
    clock = [BEFORE]
    scenarios = {"os-nosdn": scenario("0 3 * * *")}
    maker = CandidateMaker(engine, lambda: scenarios, {"os": refs}, FakeRefs({}))
    intake = EventIntake(engine, ignore)
    await intake.start_cursor(CURSOR, BEFORE)
    snapshots = Snapshots(maker, intake, lambda: scenarios, now=lambda: clock[0])
    assert await snapshots.take_due() == 30.0  # sleeps until 03:00
    async with engine.connect() as db:
        assert await store.newest_candidates(db, "os-nosdn") == []
    clock[0] = BEFORE + 31
    await snapshots.take_due()
    clock[0] = BEFORE + 95  # the same tick again: nothing new
    assert await snapshots.take_due() == 86400 - 65  # sleeps until tomorrow's 03:00
    async with engine.connect() as db:
        [made] = await store.newest_candidates(db, "os-nosdn")
    assert (made.origin, dict(made.candidate.versions)) == ("timer", {"nova": "1" * 40})
    # A day later the tip moved: a new candidate; missed ticks are taken once.
    refs.refs[("nova", "branch", "master")] = "2" * 40
    clock[0] = BEFORE + 3 * 86400
    await snapshots.take_due()
    async with engine.connect() as db:
        assert len(await store.newest_candidates(db, "os-nosdn")) == 2


async def test_no_schedule_takes_nothing_and_sets_no_timer(
    engine: AsyncEngine, refs: FakeRefs
) -> None:
    scenarios = {"os-nosdn": scenario(None)}
    maker = CandidateMaker(engine, lambda: scenarios, {"os": refs}, FakeRefs({}))
    snapshots = Snapshots(maker, EventIntake(engine, ignore), lambda: scenarios,
                          now=lambda: BEFORE)  # fmt: skip
    assert await snapshots.take_due() is None
    assert refs.calls == []


async def test_it_sleeps_until_a_reload_brings_a_schedule_then_takes_it_at_once(
    engine: AsyncEngine, refs: FakeRefs, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [BEFORE]
    scenarios = {"os-nosdn": scenario(None)}
    maker = CandidateMaker(engine, lambda: scenarios, {"os": refs}, FakeRefs({}))
    snapshots = Snapshots(maker, EventIntake(engine, ignore), lambda: scenarios,
                          now=lambda: clock[0])  # fmt: skip
    passes: list[float | None] = []
    take_due = snapshots.take_due

    async def counted() -> float | None:
        passes.append(await take_due())
        return passes[-1]

    monkeypatch.setattr(snapshots, "take_due", counted)
    running = asyncio.create_task(snapshots.run())
    try:
        await asyncio.sleep(0.3)
        assert passes == [None]  # one pass at start, then no timer: nothing polls

        scenarios["os-nosdn"] = scenario("0 3 * * *")  # reloaded, and 03:00 passed since
        clock[0] = BEFORE + 31
        snapshots.wake()
        for _ in range(1000):
            if len(passes) == 2:
                break
            await asyncio.sleep(0.01)
        assert passes == [None, 86400 - 1]  # then sleeps until tomorrow's 03:00
        assert not running.done()
    finally:
        running.cancel()
    async with engine.connect() as db:
        [made] = await store.newest_candidates(db, "os-nosdn")
    assert made.origin == "timer"


async def test_a_server_away_is_a_warning_and_the_next_tick_tries_again(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    away = FakeRefs({}, down=True)
    scenarios = {"os-nosdn": scenario("* * * * *")}
    maker = CandidateMaker(engine, lambda: scenarios, {"os": away}, FakeRefs({}))
    intake = EventIntake(engine, ignore)
    await intake.start_cursor(CURSOR, BEFORE)
    snapshots = Snapshots(maker, intake, lambda: scenarios, now=lambda: BEFORE + 61)
    await snapshots.take_due()
    assert "no snapshot of os-nosdn now: component nova" in caplog.text
    assert await intake.cursor(CURSOR) == BEFORE + 61
