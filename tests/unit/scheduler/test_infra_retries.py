"""Infrastructure failures: retried with backoff on a clock the test moves, never a -1."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult, retry_delay
from crosscheck.model.states import ItemState
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store import work
from crosscheck.store.tables import builds, items

from .fakes import FakeChanges, FakeExecutor, settle
from .test_scheduler import CONFIG, accept, load, patchset_created, queued_reports

FETCH_FAILED = "git fetch of refs/changes/07/7/1 from https://review.example.org/a/acme/driver: "


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Flaky(FakeExecutor):
    """Each job's first `failing[job]` attempts end in `result`; then as scripted."""

    def __init__(
        self, failing: dict[str, int], result: BuildResult = BuildResult.ERROR, **results: Any
    ) -> None:
        super().__init__({name: BuildResult(value) for name, value in results.items()})
        self.failing = failing
        self.result = result

    def outcome_of(self, request: BuildRequest, started: float, log_url: str) -> BuildOutcome:
        if request.attempt <= self.failing.get(request.job.name, 0):
            detail = FETCH_FAILED + "connection refused"
            return BuildOutcome(request.build_id, self.result, started, started, "", detail)
        return super().outcome_of(request, started, log_url)


def scheduler(
    engine: AsyncEngine, tmp_path: Path, executor: FakeExecutor, clock: Clock, text: str = CONFIG
) -> Scheduler:
    config = load(tmp_path, text)
    return Scheduler(
        engine,
        lambda: config,
        executor=executor,
        reports=ReportQueue(engine, {}),
        connections=config.connections,
        changes={"review": FakeChanges(["a.py"])},
        logs_url="https://ci.example.org/logs",
        tick=0.05,
        clock=clock,
        jitter=lambda: 0.5,
    )


async def attempts(engine: AsyncEngine, job: str) -> list[Any]:
    async with engine.connect() as db:
        query = select(builds).where(builds.c.job == job).order_by(builds.c.attempt)
        return list((await db.execute(query)).all())


def finished(pipeline: str, result: str) -> float:
    labels = {"pipeline": pipeline, "result": result}
    return REGISTRY.get_sample_value("crosscheck_builds_total", labels) or 0.0


async def test_an_infrastructure_error_is_retried_only_once_its_backoff_has_passed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    executor = Flaky({"unit": 1})
    errors_before = finished("check", "ERROR")
    sched = scheduler(engine, tmp_path, executor, clock)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)

    first, second = await attempts(engine, "unit")
    assert (first.state, first.result) == ("finished", "ERROR")
    assert first.detail == FETCH_FAILED + "connection refused"
    assert second.state == "waiting"
    assert second.not_before == clock.now + timedelta(seconds=30)
    assert finished("check", "ERROR") == errors_before + 1
    assert [r.attempt for r in executor.requests if r.job.name == "unit"] == [1]
    assert await queued_reports(engine) == []

    clock.now += timedelta(seconds=29)
    await settle(sched)
    assert [r.attempt for r in executor.requests if r.job.name == "unit"] == [1]

    clock.now += timedelta(seconds=1)
    await settle(sched)
    assert [r.attempt for r in executor.requests if r.job.name == "unit"] == [1, 2]
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {"Verified": 1}
    assert payload["message"].startswith("Build succeeded (check pipeline).")


async def test_backoff_grows_and_the_not_before_survives_a_restart(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    sched = scheduler(engine, tmp_path, Flaky({"unit": 3}), clock)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)
    clock.now += timedelta(seconds=30)
    await settle(sched)
    third = (await attempts(engine, "unit"))[2]
    assert third.not_before == clock.now + timedelta(seconds=120)

    # A new process reads the same rows: the third attempt still waits its turn.
    fresh = Flaky({})
    restarted = scheduler(engine, tmp_path, fresh, clock)
    await restarted.recover()
    await settle(restarted)
    assert fresh.requests == []
    clock.now += timedelta(seconds=120)
    await settle(restarted)
    assert [(r.job.name, r.attempt) for r in fresh.requests] == [("unit", 3)]


async def test_the_loop_wakes_itself_when_a_retry_is_due(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    sched = scheduler(engine, tmp_path, Flaky({}), clock)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)
    async with engine.begin() as db:
        (item,) = await work.items_in(db, ItemState.FINISHED)
        await db.execute(items.update().values(state="running"))
        await work.add_builds(db, item.id, [("unit", True)], 2, clock.now + timedelta(seconds=1))
    await sched.builds.start_waiting()
    retry_wake = sched.builds._retry_wake
    assert retry_wake is not None
    assert 0.9 < retry_wake.when() - asyncio.get_running_loop().time() <= 1.0


async def test_attempts_run_out_on_an_infrastructure_error_and_no_vote_is_cast(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    sched = scheduler(engine, tmp_path, Flaky({"unit": 3}, BuildResult.NODE_FAILURE), clock)
    await accept(sched, patchset_created(7, 1))
    for delay in (0, 30, 120):
        clock.now += timedelta(seconds=delay)
        await settle(sched)
    assert [(r.attempt, r.result) for r in await attempts(engine, "unit")] == [
        (1, "NODE_FAILURE"),
        (2, "NODE_FAILURE"),
        (3, "NODE_FAILURE"),
    ]
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {}
    lines = payload["message"].splitlines()
    assert lines[0] == "Build could not run (check pipeline): infrastructure error, no vote cast."
    unit = next(line for line in lines if line.startswith("- unit "))
    assert unit.endswith(" : NODE_FAILURE in 0s — " + FETCH_FAILED + "connection refused")
    async with engine.connect() as db:
        assert await db.scalar(select(items.c.detail)) == "infrastructure error"


async def test_a_real_failure_beside_an_infrastructure_error_votes_minus_one(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    text = CONFIG.replace("        - lab: {voting: false}", "        - lab")
    executor = Flaky({"unit": 3}, lab="FAILURE")
    sched = scheduler(engine, tmp_path, executor, clock, text)
    await accept(sched, patchset_created(7, 1))
    for delay in (0, 30, 120):
        clock.now += timedelta(seconds=delay)
        await settle(sched)
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {"Verified": -1}
    assert payload["message"].startswith("Build failed (check pipeline).")


ERROR_REPORTERS = CONFIG.replace(
    """    failure:
      review:
        labels: {Verified: -1}
""",
    """    failure:
      review:
        labels: {Verified: -1}
    error:
      review:
        comment: false
        labels: {Verified: 0}
""",
)


async def test_the_error_reporters_are_configurable(engine: AsyncEngine, tmp_path: Path) -> None:
    clock = Clock()
    text = ERROR_REPORTERS.replace("    run: [make test]", "    run: [make test]\n    attempts: 1")
    sched = scheduler(engine, tmp_path, Flaky({"unit": 1}), clock, text)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)
    assert len(await attempts(engine, "unit")) == 1  # attempts: 1 is no retry at all
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert (payload["labels"], payload["message"]) == ({"Verified": 0}, "")


async def test_a_merge_conflict_goes_to_the_failure_reporters_with_its_headline(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sched = scheduler(engine, tmp_path, FakeExecutor({"unit": BuildResult.MERGE_CONFLICT}), Clock())
    await accept(sched, patchset_created(7, 3))
    await settle(sched)
    assert len(await attempts(engine, "unit")) == 1  # the change's own problem: no retry
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {"Verified": -1}
    assert payload["message"].startswith(
        "Merge failed (check pipeline): patchset 3 does not merge onto master."
    )


def test_retry_delays_grow_are_capped_and_jittered() -> None:
    assert [retry_delay(n, 0.5) for n in (1, 2, 3, 4, 9)] == [30.0, 120.0, 300.0, 300.0, 300.0]
    assert retry_delay(1, 0.0) == 24.0
    assert retry_delay(1, 0.5, BuildResult.NODE_FAILURE) == 0.0  # another node, at once
    assert retry_delay(2, 0.5, BuildResult.NODE_FAILURE) == 120.0
    assert 35.9 < retry_delay(1, 0.999) < 36.0


async def test_a_node_lost_once_is_retried_at_once_and_then_with_backoff(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # The lost node is out of rotation: the next attempt goes to another node at once.
    clock = Clock()
    executor = Flaky({"unit": 2}, BuildResult.NODE_FAILURE)
    sched = scheduler(engine, tmp_path, executor, clock)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)
    first, second, third = await attempts(engine, "unit")
    assert (first.result, first.not_before) == ("NODE_FAILURE", None)
    assert (second.result, second.not_before) == ("NODE_FAILURE", None)
    assert third.state == "waiting"
    assert third.not_before == clock.now + timedelta(seconds=120)
    assert [r.attempt for r in executor.requests if r.job.name == "unit"] == [1, 2]


class GerritAway(FakeExecutor):
    """The first `away` attempts of every job find Gerrit away; then they succeed, or end
    as scripted."""

    def __init__(self, away: int, **results: Any) -> None:
        super().__init__({name: BuildResult(value) for name, value in results.items()})
        self.away = away

    def outcome_of(self, request: BuildRequest, started: float, log_url: str) -> BuildOutcome:
        if request.attempt <= self.away:
            detail = FETCH_FAILED + "connection refused"
            return BuildOutcome(
                request.build_id, BuildResult.ERROR, started, started, "", detail,
                source_away=True,
            )  # fmt: skip
        return super().outcome_of(request, started, log_url)


async def test_gerrit_away_for_longer_than_the_attempts_still_ends_in_a_vote(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Gerrit down for ten minutes: the job's three attempts would have run out in 2.5
    minutes, and left the change without a vote until someone asked for a recheck."""
    caplog.set_level(logging.DEBUG, logger="crosscheck.scheduler.builds")
    clock = Clock()
    sched = scheduler(engine, tmp_path, GerritAway(8), clock)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)
    for _ in range(8):
        waiting = (await attempts(engine, "unit"))[-1]
        assert waiting.state == "waiting"
        assert waiting.not_before <= clock.now + timedelta(seconds=60)  # never longer
        clock.now = waiting.not_before
        await settle(sched)

    runs = await attempts(engine, "unit")
    assert [r.source_away for r in runs] == [1] * 8 + [0]
    said = [r for r in caplog.records if "(unit): Gerrit is away" in r.getMessage()]
    assert [r.levelname for r in said] == ["WARNING"] + ["DEBUG"] * 7  # then every tenth
    assert runs[-1].result == "SUCCESS"
    (report,) = await queued_reports(engine)
    assert json.loads(report.payload)["labels"] == {"Verified": 1}


async def test_attempts_that_found_gerrit_away_leave_the_job_its_own(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    executor = GerritAway(2)
    sched = scheduler(engine, tmp_path, executor, clock)
    executor.results["unit"] = BuildResult.NODE_FAILURE  # then the job's own three attempts
    await accept(sched, patchset_created(7, 1))
    for _ in range(6):
        await settle(sched)
        clock.now += timedelta(seconds=600)

    results = [(r.attempt, r.result) for r in await attempts(engine, "unit")]
    assert results == [(1, "ERROR"), (2, "ERROR"), *((n, "NODE_FAILURE") for n in (3, 4, 5))]
    (report,) = await queued_reports(engine)
    assert json.loads(report.payload)["labels"] == {}  # an infrastructure error: no vote


async def test_gerrit_away_for_longer_than_a_report_would_wait_is_given_up(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    clock = Clock()
    sched = scheduler(engine, tmp_path, GerritAway(1000), clock)
    await accept(sched, patchset_created(7, 1))
    await settle(sched)
    async with engine.connect() as db:
        created = await db.scalar(select(items.c.created_at))
    assert created is not None
    clock.now = created.replace(tzinfo=UTC) + timedelta(hours=24, seconds=1)
    await settle(sched)

    runs = await attempts(engine, "unit")
    assert [r.state for r in runs] == ["finished", "finished"]
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {}
    assert payload["message"].startswith("Build could not run (check pipeline)")
