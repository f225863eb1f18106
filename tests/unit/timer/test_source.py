"""The timer with a clock the test moves: what fires, when, and each scheduled run once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.loader import load_config
from crosscheck.drivers.gerrit.errors import GerritUnreachableError
from crosscheck.drivers.timer.source import CURSOR, MAX_FAILED_PASSES, RETRY, TimerEventSource
from crosscheck.events.intake import EventIntake
from crosscheck.model.config import Config
from crosscheck.model.events import TIMER_EVENT, Origin
from tests.polling import until

from .fakes import FakeClock, FakeProjects, Sink, at, gerrit, load

DAILY = [
    ("daily", "acme/driver", "master", "03-10 02:00"),
    ("daily", "acme/lib-a", "main", "03-10 02:00"),
    ("daily", "acme/lib-b", "master", "03-10 02:00"),
]


def timer_for(
    intake: EventIntake, config: Config | list[Config], clock: FakeClock, projects: FakeProjects
) -> TimerEventSource:
    current = config if isinstance(config, list) else [config]
    return TimerEventSource(intake, lambda: current[-1], {"review": projects}, clock=clock)


async def next_pass(timer: TimerEventSource) -> float:
    """The seconds the pass says to sleep: a rule is configured, so there is a time."""
    delay = await timer.fire_due()
    assert delay is not None
    return delay


async def test_each_scheduled_time_fires_once_per_project_branch_without_real_waiting(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink, projects = Sink(), gerrit()
    clock = FakeClock("2026-03-10 01:58:45", sleeps=2)
    timer = timer_for(EventIntake(engine, sink), load(tmp_path), clock, projects)

    with pytest.raises(asyncio.CancelledError):
        await timer.run()

    # One sleep to the scheduled time itself, then one to the next rule's (03:30).
    assert clock.sleeps == [75.0, 5400.0]
    assert sink.fired() == DAILY  # acme/other matches no entry; acme/unused is not in daily
    event = sink.events[0]
    assert event.type == TIMER_EVENT
    assert event.origin is Origin.TIMER
    assert event.connection == "review"
    assert event.ref == "refs/heads/master"
    assert event.created_on == at("2026-03-10 02:00:00")
    assert projects.calls.count("projects") == 1  # one listing for the ^regex entry


async def test_a_first_start_does_not_fire_what_was_scheduled_before_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink = Sink()
    clock = FakeClock("2026-03-10 02:00:30")
    timer = timer_for(EventIntake(engine, sink), load(tmp_path), clock, gerrit())
    await timer.start()
    assert await timer.fire_due() == at("2026-03-10 03:30:00") - clock.time  # 'stable's time
    assert sink.events == []


async def test_named_branches_fire_where_they_exist(engine: AsyncEngine, tmp_path: Path) -> None:
    sink, projects = Sink(), gerrit()
    clock = FakeClock("2026-03-10 03:29:50")
    timer = timer_for(EventIntake(engine, sink), load(tmp_path), clock, projects)
    await timer.start()
    clock.time += await next_pass(timer)
    await timer.fire_due()
    assert sink.fired() == [
        ("stable", "acme/driver", "master", "03-10 03:30"),
        ("stable", "acme/driver", "stable/1.0", "03-10 03:30"),
        ("stable", "acme/lib-b", "master", "03-10 03:30"),  # acme/lib-a has neither
        ("stable", "acme/lib-b", "stable/1.0", "03-10 03:30"),
    ]
    assert not any(call.startswith("HEAD") for call in projects.calls)


async def test_a_reloaded_configuration_is_read_at_the_next_pass(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink = Sink()
    configs = [load(tmp_path)]
    clock = FakeClock("2026-03-10 01:59:50")
    timer = timer_for(EventIntake(engine, sink), configs, clock, gerrit())
    await timer.start()
    clock.time += await next_pass(timer)
    await timer.fire_due()
    assert sink.fired() == DAILY

    configs.append(load(tmp_path / "reloaded", daily="5 2 * * *"))  # daily moves to 02:05
    clock.time = at("2026-03-10 02:04:55")
    assert await timer.fire_due() == 5.0  # the new schedule, not tomorrow's 02:00
    clock.time += 5
    await timer.fire_due()
    assert [f[3] for f in sink.fired()] == ["03-10 02:00"] * 3 + ["03-10 02:05"] * 3


async def test_two_processes_firing_the_same_time_process_each_event_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink, config = Sink(), load(tmp_path)
    first, second = FakeClock("2026-03-10 01:59:00"), FakeClock("2026-03-10 01:59:00")
    timers = [
        timer_for(EventIntake(engine, sink), config, first, gerrit()),
        timer_for(EventIntake(engine, sink), config, second, gerrit()),
    ]
    await timers[0].start()
    first.time = second.time = at("2026-03-10 02:00:01")
    await asyncio.gather(*(timer.fire_due() for timer in timers))
    assert sorted(sink.fired()) == DAILY


async def test_a_restart_in_the_middle_of_a_time_fires_the_rest_and_nothing_twice(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    config = load(tmp_path)
    broken = Sink(failing=("acme/lib-a",))  # the process dies at the second event
    clock = FakeClock("2026-03-10 01:59:50")
    timer = timer_for(EventIntake(engine, broken), config, clock, gerrit())
    await timer.start()
    clock.time += await next_pass(timer)
    await timer.fire_due()
    assert broken.fired() == [DAILY[0], DAILY[2]]
    assert await timer.intake.cursor(CURSOR) == at("2026-03-10 01:59:50")  # not moved

    sink = Sink()
    clock.time += 40  # restarted: the time is still the latest one due
    restarted = timer_for(EventIntake(engine, sink), config, clock, gerrit())
    await restarted.start()
    await restarted.fire_due()
    assert sink.fired() == [DAILY[1]]  # the two others were processed already
    assert await restarted.intake.cursor(CURSOR) == clock.time


async def test_of_the_times_missed_while_down_only_the_latest_fires(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink = Sink()
    intake = EventIntake(engine, sink)
    await intake.start_cursor(CURSOR, at("2026-03-07 10:00:00"))  # down three days
    clock = FakeClock("2026-03-10 09:00:00")
    timer = timer_for(intake, load(tmp_path), clock, gerrit())
    await timer.start()
    await timer.fire_due()
    assert sink.fired() == [
        *DAILY,
        ("stable", "acme/driver", "master", "03-10 03:30"),
        ("stable", "acme/driver", "stable/1.0", "03-10 03:30"),
        ("stable", "acme/lib-b", "master", "03-10 03:30"),
        ("stable", "acme/lib-b", "stable/1.0", "03-10 03:30"),
    ]
    await timer.fire_due()
    assert len(sink.events) == 7


async def test_a_failing_gerrit_keeps_the_time_due_then_it_is_given_up(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink, projects = Sink(), gerrit()
    clock = FakeClock("2026-03-10 01:59:50")
    timer = timer_for(EventIntake(engine, sink), load(tmp_path), clock, projects)
    await timer.start()
    clock.time += await next_pass(timer)
    projects.error = GerritUnreachableError("no answer from Gerrit")
    assert await timer.fire_due() == RETRY
    assert sink.events == []
    projects.error = None
    clock.time += 30
    await timer.fire_due()  # tried again: it fires, late
    assert sink.fired() == DAILY

    projects.error = GerritUnreachableError("no answer from Gerrit")
    clock.time = at("2026-03-11 02:00:00")
    with caplog.at_level(logging.ERROR):
        for _ in range(MAX_FAILED_PASSES):
            await timer.fire_due()
            clock.time += 30
    assert "passes in a row failed; their scheduled runs are given up" in caplog.text
    assert await timer.intake.cursor(CURSOR) == at("2026-03-11 02:01:00")


async def test_one_failing_project_delays_only_itself(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink, projects = Sink(), gerrit()
    projects.broken = {"acme/lib-a"}
    clock = FakeClock("2026-03-10 01:59:50")
    timer = timer_for(EventIntake(engine, sink), load(tmp_path), clock, projects)
    await timer.start()
    clock.time += await next_pass(timer)
    with caplog.at_level(logging.ERROR):
        await timer.fire_due()
    assert sink.fired() == [DAILY[0], DAILY[2]]
    assert (
        "timer: pipeline 'daily' at 2026-03-10 02:00 UTC: project 'acme/lib-a' failed "
        "(GerritHttpError: Gerrit answered 500" in caplog.text
    )
    projects.broken = set()
    clock.time += 30
    await timer.fire_due()
    assert sink.fired() == [DAILY[0], DAILY[2], DAILY[1]]


async def test_a_project_gerrit_does_not_know_is_skipped_and_the_others_fire(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink, projects = Sink(), gerrit()
    del projects.table["acme/driver"]
    clock = FakeClock("2026-03-10 01:59:50")
    timer = timer_for(EventIntake(engine, sink), load(tmp_path), clock, projects)
    await timer.start()
    clock.time += await next_pass(timer)
    with caplog.at_level(logging.WARNING):
        await timer.fire_due()
    assert sink.fired() == DAILY[1:]
    assert "project 'acme/driver' is not on 'review': skipped" in caplog.text
    assert await timer.intake.cursor(CURSOR) == clock.time


async def test_timer_events_never_move_the_gerrit_connection_cursor(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink = Sink()
    intake = EventIntake(engine, sink)
    await intake.start_cursor("review", at("2026-03-10 01:00:00"))
    clock = FakeClock("2026-03-10 01:59:50")
    timer = timer_for(intake, load(tmp_path), clock, gerrit())
    await timer.start()
    clock.time += await next_pass(timer)
    await timer.fire_due()
    assert sink.fired() == DAILY  # events went through the intake
    assert await intake.cursor("review") == at("2026-03-10 01:00:00")


CANDIDATES = """
- scenario:
    name: os-nosdn
    components:
      - {name: driver, connection: review, project: acme/driver, branch: master}
    levels:
      - {name: verified, jobs: [unit]}
- pipeline:
    name: nightly-candidates
    manager: supercedent
    trigger: {timer: [{time: "30 2 * * *"}]}
    candidates: {scenario: os-nosdn, level: verified, jobs: [unit]}
"""


async def test_a_pipeline_of_candidates_fires_once_for_its_level(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink, projects = Sink(), gerrit()
    clock = FakeClock("2026-03-10 02:29:45", sleeps=2)
    config = load(tmp_path, extra=CANDIDATES)
    timer = timer_for(EventIntake(engine, sink), config, clock, projects)
    with pytest.raises(asyncio.CancelledError):
        await timer.run()
    [event] = [e for e in sink.events if e.timer and e.timer.pipeline == "nightly-candidates"]
    assert event.timer is not None
    assert (event.connection, event.project, event.timer.branch) == ("@promotion", "os-nosdn",
                                                                      "verified")  # fmt: skip
    assert event.created_on == at("2026-03-10 02:30:00")
    assert projects.calls == []  # no project listed, no branch asked: the level says which


NO_TIMER = """
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- label: {name: local}
- job: {name: unit, node: local, run: [make test]}
- pipeline:
    name: check
    manager: independent
    trigger:
      review: [{event: patchset-created}]
- project: {name: acme/driver, check: {jobs: [unit]}}
"""


def no_timer(tmp_path: Path) -> Config:
    path = tmp_path / "ci.yaml"
    path.write_text(NO_TIMER)
    result = load_config([path])
    assert result.config is not None, [str(e) for e in result.errors]
    return result.config


class WaitingClock(FakeClock):
    """Records each sleep, then waits for real until cancelled: only `wake` ends it."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.Event().wait()


async def test_without_a_timer_rule_it_sleeps_until_a_reload_brings_one(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink = Sink()
    configs = [no_timer(tmp_path)]
    clock = FakeClock("2026-03-10 01:59:00", sleeps=2)
    intake = EventIntake(engine, sink)
    timer = timer_for(intake, configs, clock, gerrit())
    await timer.start()
    assert await timer.fire_due() is None  # nothing to sleep until
    running = asyncio.create_task(timer.run())
    try:
        await asyncio.sleep(0.3)  # its pass is done: the store answers in milliseconds
        assert not running.done()
        assert clock.sleeps == []  # no timer set: the loop waits for a reload alone
        assert await intake.cursor(CURSOR) == at("2026-03-10 01:59:00")

        configs.append(load(tmp_path / "reloaded"))  # daily at 02:00
        timer.wake()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(running, 10)
    finally:
        running.cancel()
    # Woken at once, it slept to 02:00, fired, and would sleep to 'stable's 03:30.
    assert clock.sleeps == [60.0, 5400.0]
    assert sink.fired() == DAILY


async def test_a_reload_wakes_a_long_sleep_for_the_new_schedule(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sink = Sink()
    configs = [load(tmp_path)]  # daily at 02:00, stable at 03:30
    clock = WaitingClock("2026-03-10 01:00:00")
    timer = timer_for(EventIntake(engine, sink), configs, clock, gerrit())
    running = asyncio.create_task(timer.run())
    try:
        await until(lambda: clock.sleeps == [3600.0], what="the timer")
        configs.append(load(tmp_path / "reloaded", daily="5 1 * * *"))  # daily at 01:05
        timer.wake()
        await until(lambda: len(clock.sleeps) == 2, what="the timer")
        assert clock.sleeps == [3600.0, 300.0]
        assert not running.done()
    finally:
        running.cancel()
    assert sink.events == []
