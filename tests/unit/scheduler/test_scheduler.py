"""The scheduler with a fake executor and Gerrit: items, builds, supersession, reports."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.loader import load_config
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.executor.executor import BuildStarted, StartedHook
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult
from crosscheck.model.config import Config
from crosscheck.model.events import Account, Change, Event, PatchSet
from crosscheck.reporting import ReportQueue
from crosscheck.scheduler import queue
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store.tables import builds, items, reports

CONFIG = """
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- pipeline:
    name: check
    manager: independent
    trigger:
      review:
        - event: patchset-created
        - event: comment-added
    success:
      review:
        labels: {Verified: 1}
    failure:
      review:
        labels: {Verified: -1}
- label:
    name: local
- job:
    name: unit
    node: local
    run: [make test]
- job:
    name: lab
    node: local
    run: [make lab]
    irrelevant_files: ["doc/**"]
- project:
    name: acme/driver
    check:
      jobs:
        - unit
        - lab: {voting: false}
"""


def load(tmp_path: Path) -> Config:
    path = tmp_path / "crosscheck.yaml"
    path.write_text(CONFIG)
    result = load_config([path])
    assert result.config is not None, result.errors
    return result.config


class FakeExecutor:
    """Builds end as scripted per job; a job in `hold` waits until released."""

    def __init__(self, results: Mapping[str, BuildResult]) -> None:
        self.results = dict(results)
        self.hold: set[str] = set()
        self.release = asyncio.Event()
        self.requests: list[BuildRequest] = []
        self.canceled: list[str] = []

    async def run(
        self, request: BuildRequest, *, on_started: StartedHook | None = None
    ) -> BuildOutcome:
        self.requests.append(request)
        started = time.time()
        log_url = f"{request.build_id}/"
        if on_started:
            await on_started(BuildStarted(request.build_id, "local-0", started, log_url, Path()))
        try:
            if request.job.name in self.hold:
                await self.release.wait()
        except asyncio.CancelledError:
            self.canceled.append(request.build_id)
            raise
        result = self.results.get(request.job.name, BuildResult.SUCCESS)
        return BuildOutcome(request.build_id, result, started, started + 62, log_url)


class FakeRest(GerritRestClient):
    def __init__(self, files: list[str]) -> None:
        super().__init__("https://review.example.org/")
        self.files = files

    async def get(self, path: str, params: Any = None) -> Any:
        return {"/COMMIT_MSG": {}, **{name: {} for name in self.files}}


def patchset_created(number: int, patchset: int) -> Event:
    return Event(
        type="patchset-created",
        connection="review",
        created_on=int(time.time()),
        project="acme/driver",
        change=Change(project="acme/driver", branch="master", number=number),
        patchset=PatchSet(number=patchset, revision=f"{number:04d}{patchset:036d}"),
        account=Account(username="dev"),
    )


def scheduler_for(
    engine: AsyncEngine,
    config: Config,
    executor: FakeExecutor,
    files: list[str],
    *,
    results: bool = False,
) -> Scheduler:
    return Scheduler(
        engine,
        lambda: config,
        executor=executor,
        reports=ReportQueue(engine, {}),
        connections=config.connections,
        rest={"review": FakeRest(files)},
        logs_url="https://ci.example.org/logs",
        tick=0.05,
        results=ReportQueue(engine, {}) if results else None,
    )


async def accept(scheduler: Scheduler, event: Event) -> None:
    async with scheduler.engine.begin() as db:
        await scheduler.accept(event, db)


async def settle(scheduler: Scheduler, rounds: int = 5) -> None:
    for _ in range(rounds):
        await scheduler.reconcile()
        await asyncio.sleep(0.01)
        # On a loaded machine a build takes more than a sleep to end: give the
        # running ones (held ones aside, which never end) a moment to.
        tasks = list(scheduler._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)


async def queued_reports(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as db:
        return list((await db.execute(select(reports).order_by(reports.c.id))).all())


async def test_a_change_gets_one_report_with_the_vote_and_the_job_lines(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({"lab": BuildResult.FAILURE})
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["driver.py"])
    await accept(scheduler, patchset_created(7, 1))
    await settle(scheduler)
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {"Verified": 1}  # the failing job does not vote
    assert payload["tag"] == "autogenerated:crosscheck:check"
    lines = payload["message"].split("\n")
    assert lines[0] == "Build succeeded (check pipeline)."
    assert lines[1] == ""
    assert lines[2].startswith("- lab https://ci.example.org/logs/")
    assert lines[2].endswith(" : FAILURE in 1m 02s (non-voting)")
    assert lines[3].endswith(" : SUCCESS in 1m 02s")
    assert (report.change_number, report.patchset) == (7, 1)


async def test_a_failing_voting_job_votes_minus_one(engine: AsyncEngine, tmp_path: Path) -> None:
    scheduler = scheduler_for(
        engine, load(tmp_path), FakeExecutor({"unit": BuildResult.FAILURE}), ["a.py"]
    )
    await accept(scheduler, patchset_created(8, 1))
    await settle(scheduler)
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {"Verified": -1}
    assert payload["message"].startswith("Build failed (check pipeline).")


async def test_irrelevant_files_skip_a_job_and_the_same_patchset_is_queued_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["doc/index.rst"])
    await accept(scheduler, patchset_created(9, 1))
    await accept(scheduler, patchset_created(9, 1))
    await settle(scheduler)
    assert [r.job.name for r in executor.requests] == ["unit"]
    async with engine.connect() as db:
        assert len((await db.execute(select(items))).all()) == 1


async def test_a_new_patchset_cancels_the_old_builds_and_only_it_is_reported(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    executor.hold = {"unit"}
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["a.py"])
    await accept(scheduler, patchset_created(10, 1))
    await settle(scheduler)
    first = next(r.build_id for r in executor.requests if r.job.name == "unit")
    executor.hold = set()
    await accept(scheduler, patchset_created(10, 2))
    await settle(scheduler)
    assert executor.canceled == [first]
    (report,) = await queued_reports(engine)
    assert report.patchset == 2


async def test_a_build_running_when_the_process_died_runs_again_as_attempt_two(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    config = load(tmp_path)
    executor = FakeExecutor({})
    executor.hold = {"unit", "lab"}
    dying = scheduler_for(engine, config, executor, ["a.py"])
    await accept(dying, patchset_created(11, 1))
    await settle(dying)
    await dying.stop_builds()  # as if killed: the rows still say running
    fresh = FakeExecutor({})
    restarted = scheduler_for(engine, config, fresh, ["a.py"])
    await restarted.recover()
    await settle(restarted)
    assert sorted((r.job.name, r.attempt) for r in fresh.requests) == [("lab", 2), ("unit", 2)]
    assert len(await queued_reports(engine)) == 1
    async with engine.connect() as db:
        states = sorted((r.job, r.attempt, r.state) for r in await db.execute(select(builds)))
    assert states == [
        ("lab", 1, "interrupted"),
        ("lab", 2, "finished"),
        ("unit", 1, "interrupted"),
        ("unit", 2, "finished"),
    ]


async def test_an_item_superseded_after_its_builds_ended_is_not_reported(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # The race the e2e test found: a pass reads the item as running, a new patchset
    # supersedes it, then the pass reaches the item with all its builds done.
    executor = FakeExecutor({})
    executor.hold = {"unit"}
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["a.py"])
    await accept(scheduler, patchset_created(12, 1))
    await settle(scheduler, rounds=2)
    async with engine.connect() as db:
        (stale,) = await queue.items_in(db, "running")
    executor.release.set()
    for _ in range(50):
        if not scheduler._tasks:
            break
        await asyncio.sleep(0.01)
    await accept(scheduler, patchset_created(12, 2))
    await scheduler._finish_if_done(stale)
    assert await queued_reports(engine) == []
    async with engine.connect() as db:
        (state,) = await db.scalars(select(items.c.state).where(items.c.id == stale.id))
    assert state == "superseded"


async def test_an_item_also_queues_its_job_results_for_the_results_service(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({"lab": BuildResult.TIMED_OUT})
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["a.py"], results=True)
    await accept(scheduler, patchset_created(13, 1))
    await settle(scheduler)
    items_ = await queued_reports(engine)
    assert [(r.report_key.split("-", 2)[2], r.connection) for r in items_] == [
        ("review", "review"),
        ("@results", "@results"),
    ]
    results = items_[1]
    assert (results.project, results.change_number, results.patchset) == ("acme/driver", 13, 1)
    assert results.revision == f"{13:04d}{1:036d}"
    payload = json.loads(results.payload)
    assert (payload["branch"], payload["pipeline"]) == ("master", "check")
    assert [(j["job"], j["result"], j["voting"], j["duration"]) for j in payload["jobs"]] == [
        ("lab", "TIMED_OUT", False, 62.0),
        ("unit", "SUCCESS", True, 62.0),
    ]
    assert payload["jobs"][1]["url"].startswith("https://ci.example.org/logs/")
    # A recheck is another item: its results are another report.
    recheck = replace(
        patchset_created(13, 1), type="comment-added", comment="recheck", created_on=1
    )
    await accept(scheduler, recheck)
    await settle(scheduler)
    keys = [r.report_key for r in await queued_reports(engine)]
    assert len(keys) == 4
    assert len([k for k in keys if k.endswith("-@results")]) == 2


async def test_a_superseded_patchset_reports_no_results(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    executor.hold = {"unit"}
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["a.py"], results=True)
    await accept(scheduler, patchset_created(14, 1))
    await settle(scheduler)
    executor.hold = set()
    await accept(scheduler, patchset_created(14, 2))
    await settle(scheduler)
    assert sorted((r.connection, r.patchset) for r in await queued_reports(engine)) == [
        ("@results", 2),
        ("review", 2),
    ]
