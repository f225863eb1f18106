"""Timer events through the scheduler: items on branch tips, one per branch, no Gerrit report."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.build import BuildResult
from crosscheck.model.config import Config
from crosscheck.model.events import TIMER_EVENT, Event, Origin, TimerTick
from crosscheck.scheduler.triggers import matching_pipelines
from crosscheck.store.tables import builds, items

from .fakes import FakeExecutor, settle
from .test_scheduler import accept, patchset_created, queued_reports, scheduler_for
from .test_scheduler import load as load_text

CONFIG = """
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- label: {name: local}
- job: {name: deploy, node: local, run: [make deploy]}
- pipeline:
    name: check
    manager: independent
    trigger:
      review: [{event: patchset-created}]
    success: {review: {labels: {Verified: 1}}}
    failure: {review: {labels: {Verified: -1}}}
- pipeline:
    name: daily
    manager: supercedent
    trigger:
      timer: [{time: "0 2 * * *"}]
    # A timer's items have no change: these are never sent (config check warns).
    success: {review: {labels: {Verified: 1}}}
    failure: {review: {labels: {Verified: -1}}}
- pipeline:
    name: weekly
    manager: supercedent
    trigger:
      timer: [{time: "0 4 * * 6"}]
- project:
    name: acme/driver
    check: {jobs: [deploy]}
    daily: {jobs: [deploy]}
    weekly: {jobs: [deploy]}
"""


def load(tmp_path: Path) -> Config:
    return load_text(tmp_path, CONFIG)


def tick(pipeline: str = "daily", at: int = 1_773_108_000, branch: str = "master") -> Event:
    return Event(
        type=TIMER_EVENT,
        connection="review",
        created_on=at,
        project="acme/driver",
        origin=Origin.TIMER,
        timer=TimerTick(pipeline, branch),
    )


def test_a_timer_event_enqueues_in_its_own_pipeline_only(tmp_path: Path) -> None:
    config = load(tmp_path)
    assert [p.name for p in matching_pipelines(config, tick("daily"))] == ["daily"]
    assert [p.name for p in matching_pipelines(config, tick("weekly"))] == ["weekly"]
    assert matching_pipelines(config, tick("check")) == []  # check has no timer trigger
    assert [p.name for p in matching_pipelines(config, patchset_created(1, 1))] == ["check"]


async def test_a_timer_item_builds_the_branch_and_reports_nothing_to_gerrit(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, load(tmp_path), executor, ["ignored.py"])
    await accept(scheduler, tick(branch="stable/1.0"))
    with caplog.at_level(logging.INFO):
        await settle(scheduler)

    (request,) = executor.requests
    assert request.event.timer == TimerTick("daily", "stable/1.0")
    assert request.pipeline == "daily"
    assert await queued_reports(engine) == []
    async with engine.connect() as db:
        (item,) = (await db.execute(select(items))).all()
        (build,) = (await db.execute(select(builds))).all()
    assert (item.branch, item.change_number, item.state, item.detail) == (
        "stable/1.0",
        None,
        "finished",
        "passed",
    )
    assert (build.result, build.log_url) == (BuildResult.SUCCESS.value, f"{build.id}/")
    assert "no change to report on in Gerrit; its builds and their logs are recorded" in (
        caplog.text
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_supercedent_runs_one_item_per_branch_and_the_newest_waiting_one_next(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    executor.hold = {"deploy"}
    scheduler = scheduler_for(engine, load(tmp_path), executor, [])
    await accept(scheduler, tick(at=1_000_020))
    await settle(scheduler, rounds=2)
    await accept(scheduler, tick(at=1_000_080))
    await accept(scheduler, tick(at=1_000_140))  # replaces the one waiting
    await accept(scheduler, tick(at=1_000_140, branch="stable/1.0"))  # another branch runs
    await settle(scheduler, rounds=2)
    assert sorted((r.event.created_on, r.event.ref) for r in executor.requests) == [
        (1_000_020, "refs/heads/master"),
        (1_000_140, "refs/heads/stable/1.0"),
    ]

    executor.release.set()
    await settle(scheduler)
    assert [(r.event.created_on, r.event.ref) for r in executor.requests][-1] == (
        1_000_140,
        "refs/heads/master",
    )
    async with engine.connect() as db:
        states = [(r.branch, r.state) for r in await db.execute(select(items).order_by(items.c.id))]
    assert states == [
        ("master", "finished"),
        ("master", "superseded"),
        ("master", "finished"),
        ("stable/1.0", "finished"),
    ]
