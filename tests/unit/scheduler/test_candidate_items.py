"""Items of pipelines of candidates: the candidate a level holds, enqueued once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.build import BuildResult
from crosscheck.model.candidate import Candidate
from crosscheck.model.events import PROMOTION, TIMER_EVENT, Event, Origin, TimerTick
from crosscheck.model.pipeline import CandidateSource, Manager, Pipeline
from crosscheck.model.promotion import JobCriterion, Level
from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.model.states import ItemState
from crosscheck.scheduler.candidates import candidate_event, enqueue_candidate
from crosscheck.store import promotion as promotion_store
from crosscheck.store import work
from crosscheck.store.event_codec import dump_event, load_event

from .fakes import FakeExecutor, settle
from .test_scheduler import accept, queued_reports, scheduler_for
from .test_scheduler import load as load_text

SCENARIO = Scenario(
    "os-nosdn",
    components=(
        Component("nova", RefKind.BRANCH, "master", connection="os", project="openstack/nova"),
        Component("vpp", RefKind.SHA, "b" * 40, git_url="https://git.fd.io/vpp"),
    ),
    levels=(Level("verified", None, (JobCriterion(("unit",)),), ("ci",)),),
)
DAILY = Pipeline(
    "daily", Manager.SUPERCEDENT, (),
    candidates=CandidateSource("os-nosdn", "verified", ("deploy",), on_move=True),
)  # fmt: skip


async def held(engine: AsyncEngine, n: int) -> str:
    candidate = Candidate("os-nosdn", {"nova": f"{n:040x}", "vpp": "b" * 40})
    async with engine.begin() as db:
        now = datetime.now(UTC)
        await promotion_store.record_candidate(db, candidate, "merge", now)
        assert await promotion_store.promote(db, "os-nosdn", "verified", candidate.id,
                                             by="criteria", evidence={}, at=now)  # fmt: skip
    return candidate.id


async def test_the_held_candidate_is_enqueued_once(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        assert await candidate_event(db, SCENARIO, "verified", 0.0, Origin.TIMER) is None
    first = await held(engine, 1)
    async with engine.begin() as db:
        event = await candidate_event(db, SCENARIO, "verified", 100.0, Origin.TIMER)
        assert event is not None
        item = await enqueue_candidate(db, DAILY, event)
        assert item is not None
        assert await enqueue_candidate(db, DAILY, event) is None  # tested once
    assert event.candidate is not None
    assert event.candidate.id == first
    assert event.candidate.versions == {"nova": f"{1:040x}", "vpp": "b" * 40}
    assert [c.git_url for c in event.candidate.components] == [None, "https://git.fd.io/vpp"]
    assert load_event(dump_event(event)) == event  # rebuilt after a restart
    async with engine.connect() as db:
        [row] = await work.items_in(db, ItemState.NEW)
    assert (row.connection, row.project, row.branch) == (PROMOTION, "os-nosdn", "verified")
    assert (row.change_number, row.revision) == (None, first)


async def test_a_newer_candidate_supersedes_the_one_waiting(engine: AsyncEngine) -> None:
    await held(engine, 1)
    async with engine.begin() as db:
        older = await candidate_event(db, SCENARIO, "verified", 100.0, Origin.TIMER)
        assert older is not None
        await enqueue_candidate(db, DAILY, older)
    newer_id = await held(engine, 2)
    async with engine.begin() as db:
        newer = await candidate_event(db, SCENARIO, "verified", 200.0, Origin.TIMER)
        assert newer is not None
        await enqueue_candidate(db, DAILY, newer)
    async with engine.connect() as db:
        waiting = await work.items_in(db, ItemState.NEW)
    assert [row.revision for row in waiting] == [newer_id]


CANDIDATE_CONFIG = """
- connection:
    name: os
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- label: {name: local}
- job: {name: deploy, node: local, run: [make deploy]}
- pipeline:
    name: daily
    manager: supercedent
    trigger: {timer: [{time: "0 2 * * *"}]}
    candidates: {scenario: os-nosdn, level: verified, jobs: [deploy]}
    # A candidate has no change: these are never used (config check warns).
    success: {os: {labels: {Verified: 1}, comment: true}}
    failure: {os: {labels: {Verified: -1}, comment: true}}
- scenario:
    name: os-nosdn
    components:
      - {name: nova, connection: os, project: openstack/nova, branch: master}
      - {name: vpp, git: "https://git.fd.io/vpp", sha: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}
    levels:
      - {name: verified, jobs: [unit], accounts: [ci]}
"""


def daily_tick() -> Event:
    return Event(
        TIMER_EVENT, PROMOTION, 1_773_108_000, project="os-nosdn", origin=Origin.TIMER,
        timer=TimerTick("daily", "verified"),
    )  # fmt: skip


async def test_a_timers_tick_builds_the_candidate_the_level_holds(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    config = load_text(tmp_path, CANDIDATE_CONFIG)
    executor = FakeExecutor({"deploy": BuildResult.SUCCESS})
    scheduler = scheduler_for(engine, config, executor, [], results=True)
    await accept(scheduler, daily_tick())  # verified holds nothing yet
    async with engine.connect() as db:
        assert await work.items_in(db, ItemState.NEW) == []
    candidate = await held(engine, 1)
    await accept(scheduler, daily_tick())
    await settle(scheduler)
    [request] = executor.requests
    assert request.job.name == "deploy"
    assert request.connection is None  # a candidate's build: its components say where
    assert request.event.candidate is not None
    assert request.event.candidate.id == candidate
    [results] = [r for r in await queued_reports(engine) if r.connection == RESULTS_SERVICE]
    assert json.loads(results.payload)["candidate"] == candidate
    assert [r for r in await queued_reports(engine) if r.connection == "os"] == []  # no Gerrit
