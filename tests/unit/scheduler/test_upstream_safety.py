"""What a CI pointed at a real upstream must not do: trigger on its own messages, build
dead changes or old patchsets; and what it must: `run <ci>` whatever the patterns."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.events.intake import EventIntake
from crosscheck.model.config import Config
from crosscheck.model.events import Account, Change, Event, Origin, PatchSet
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.enqueue import enqueue_item
from crosscheck.scheduler.replans import Replans
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store.tables import builds, items, reports

from .fakes import FakeChanges, FakeExecutor, settle
from .test_scheduler import load

CONFIG = """
- ci:
    name: Acme CI
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: acme-ci
    ignore_accounts: [other-ci, Bot@Example.org]
- pipeline:
    name: check
    manager: independent
    current_patchset_only: {current_only}
    trigger:
      review:
        - event: [patchset-created, change-restored]
        - event: comment-added
          comment: (?i)build|recheck
    success:
      review: {{labels: {{Verified: 1}}}}
    failure:
      review: {{labels: {{Verified: -1}}}}
- pipeline:
    name: post
    manager: supercedent
    trigger:
      review:
        - event: change-merged
- label:
    name: local
- job:
    name: unit
    node: local
    run: [make test]
- project:
    name: acme/driver
    check:
      jobs: [unit]
    post:
      jobs: [unit]
"""


def config(tmp_path: Path, *, current_only: bool = True) -> Config:
    return load(tmp_path, CONFIG.format(current_only=str(current_only).lower()))


#: Event times, ten seconds apart, in the past.
TIMES = itertools.count(int(time.time()) - 100_000, 10)


def revision(number: int, patchset: int) -> str:
    return f"{number:04d}{patchset:036d}"


def event(
    kind: str,
    number: int,
    patchset: int,
    *,
    who: Account | None = None,
    comment: str | None = None,
    status: str = "NEW",
    origin: Origin = Origin.STREAM,
) -> Event:
    return Event(
        type=kind,
        connection="review",
        created_on=next(TIMES),  # apart: never taken for a copy of another
        project="acme/driver",
        change=Change(project="acme/driver", branch="master", number=number, status=status),
        patchset=PatchSet(number=patchset, revision=revision(number, patchset)),
        account=who or Account(username="dev", email="dev@example.org"),
        comment=comment,
        origin=origin,
    )


def recheck(number: int, patchset: int, *, status: str = "NEW") -> Event:
    text = f"Patch Set {patchset}:\n\nrecheck"
    return event("comment-added", number, patchset, comment=text, status=status)


def scheduler_for(engine: AsyncEngine, config: Config, executor: FakeExecutor) -> Scheduler:
    return Scheduler(
        engine,
        lambda: config,
        executor=executor,
        reports=ReportQueue(engine, {}),
        connections=config.connections,
        changes={"review": FakeChanges(["driver.py"])},
        tick=0.05,
        results=ReportQueue(engine, {}),
    )


def fake_changes(scheduler: Scheduler) -> FakeChanges:
    changes = scheduler.changes["review"]
    assert isinstance(changes, FakeChanges)
    return changes


async def accept(scheduler: Scheduler, *events: Event) -> None:
    for each in events:
        async with scheduler.engine.begin() as db:
            await scheduler.accept(each, db)


async def item_rows(engine: AsyncEngine) -> list[tuple[str, int, int, str, str | None]]:
    async with engine.connect() as db:
        rows = await db.execute(select(items).order_by(items.c.id))
        return [(r.pipeline, r.change_number, r.patchset, r.state, r.detail) for r in rows]


async def report_rows(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as db:
        rows = await db.execute(select(reports).order_by(reports.c.id))
        return [(r.connection, r.patchset) for r in rows]


def ignored(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "crosscheck_events_ignored_total", {"connection": "review", "reason": reason}
    )
    return value or 0.0


def canceled_builds() -> float:
    value = REGISTRY.get_sample_value(
        "crosscheck_builds_total", {"pipeline": "check", "result": "CANCELED"}
    )
    return value or 0.0


# -- accounts ----------------------------------------------------------------------------


async def test_the_ci_accounts_own_message_triggers_nothing_but_is_recorded_as_seen(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    intake = EventIntake(engine, scheduler.accept)
    before = ignored("own-account")
    # The CI's report matches the operator's pattern ("Build succeeded"): a vote storm
    # unless its own account is ignored.
    own = event(
        "comment-added",
        30,
        1,
        who=Account(username="acme-ci", email="ci@acme.example"),
        comment="Patch Set 1: Verified+1\n\nBuild succeeded (check pipeline).",
    )
    assert await intake.submit(own)
    assert await item_rows(engine) == []
    assert ignored("own-account") == before + 1
    assert await intake.cursor("review") == own.created_on  # the event moved the cursor
    assert not await intake.submit(replace(own, origin=Origin.CATCHUP))  # a copy is dropped


@pytest.mark.parametrize(
    "who",
    [Account(username="other-ci"), Account(username="x", email="bot@example.org")],
    ids=["username", "email, any case"],
)
async def test_an_ignored_account_triggers_nothing(
    engine: AsyncEngine, tmp_path: Path, who: Account
) -> None:
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    before = ignored("ignored-account")
    await accept(scheduler, event("patchset-created", 31, 1, who=who))
    assert await item_rows(engine) == []
    assert ignored("ignored-account") == before + 1


async def test_own_events_trigger_when_the_operator_says_so(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    text = CONFIG.format(current_only="true").replace(
        "    ignore_accounts:", "    ignore_own_events: false\n    ignore_accounts:"
    )
    scheduler = scheduler_for(engine, load(tmp_path, text), FakeExecutor({}))
    await accept(scheduler, event("patchset-created", 32, 1, who=Account(username="acme-ci")))
    assert [r[:4] for r in await item_rows(engine)] == [("check", 32, 1, "new")]


async def test_run_ci_name_triggers_beside_the_operators_own_pattern(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    await accept(scheduler, event("comment-added", 33, 1, comment="Patch Set 1:\n\nrun acme-ci"))
    await accept(scheduler, event("comment-added", 34, 1, comment="Patch Set 1:\n\nrun other-ci"))
    assert [r[:3] for r in await item_rows(engine)] == [("check", 33, 1)]


# -- closed changes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "closing",
    [("change-abandoned", "ABANDONED", "abandoned"), ("change-deleted", "NEW", "deleted")],
)
async def test_a_change_closed_mid_build_cancels_it_and_nothing_is_reported(
    engine: AsyncEngine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    closing: tuple[str, str, str],
) -> None:
    """Abandoned, or deleted outright (Gerrit would answer the report 404)."""
    kind, status, how = closing
    executor = FakeExecutor({})
    executor.hold = {"unit"}
    scheduler = scheduler_for(engine, config(tmp_path), executor)
    await accept(scheduler, event("patchset-created", 40, 1))
    await settle(scheduler)
    (running,) = executor.requests
    caplog.set_level("INFO", logger="crosscheck.scheduler")
    before = canceled_builds()
    await accept(scheduler, event(kind, 40, 1, status=status))
    await settle(scheduler)
    assert canceled_builds() == before + 1
    assert executor.canceled == [running.build_id]
    assert await item_rows(engine) == [("check", 40, 1, "dequeued", f"change {how}")]
    async with engine.connect() as db:
        assert [r.state for r in await db.execute(select(builds))] == ["canceled"]
    # No vote, no message; for the results service only the jobs shown running at the
    # start, which RunningResults ends (tests/unit/scheduler/test_scheduler.py).
    assert await report_rows(engine) == [("@results", 1)]
    assert f"change 40 {how}: item 1 (check) dequeued, 1 build(s) canceled" in caplog.messages


async def test_a_recheck_on_an_abandoned_change_triggers_nothing_until_it_is_restored(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    before = ignored("closed-change")
    await accept(scheduler, recheck(41, 1, status="ABANDONED"))
    assert await item_rows(engine) == []
    assert ignored("closed-change") == before + 1
    await accept(scheduler, event("change-restored", 41, 1))
    assert [r[:4] for r in await item_rows(engine)] == [("check", 41, 1, "new")]


async def test_a_merge_ends_the_check_item_but_runs_the_post_item_it_enqueues(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    executor.hold = {"unit"}
    scheduler = scheduler_for(engine, config(tmp_path), executor)
    await accept(scheduler, event("patchset-created", 42, 1))
    await settle(scheduler)
    executor.hold = set()
    fake_changes(scheduler).status[42] = "MERGED"
    await accept(scheduler, event("change-merged", 42, 1, status="MERGED"))
    await settle(scheduler)
    assert await item_rows(engine) == [
        ("check", 42, 1, "dequeued", "change merged"),
        ("post", 42, 1, "finished", "passed"),  # planned although the change is merged
    ]
    assert [r.job.name for r in executor.requests] == ["unit", "unit"]
    assert len(executor.canceled) == 1


async def test_a_change_abandoned_before_its_item_was_planned_is_skipped(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The abandon event is not there yet (a stream cut): Gerrit itself says so.
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config(tmp_path), executor)
    fake_changes(scheduler).status[43] = "ABANDONED"
    caplog.set_level("INFO", logger="crosscheck.scheduler")
    await accept(scheduler, event("patchset-created", 43, 1))
    await settle(scheduler)
    assert await item_rows(engine) == [("check", 43, 1, "skipped", "change 43 is abandoned")]
    assert executor.requests == []
    assert await report_rows(engine) == []
    assert "item 1 (change review:43,1 in check) skipped: change 43 is abandoned" in caplog.messages


# -- work in progress ------------------------------------------------------------------------


async def test_a_work_in_progress_change_is_not_enqueued_and_the_log_says_why(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    pushed = event("patchset-created", 60, 1)
    assert pushed.change is not None
    wip = replace(pushed, change=replace(pushed.change, wip=True))
    before = ignored("skipped-state")
    caplog.set_level("INFO", logger="crosscheck.scheduler")
    await accept(scheduler, wip)
    assert await item_rows(engine) == []
    assert ignored("skipped-state") == before + 1
    assert "change review:60,1: not enqueued in check (work in progress)" in caplog.messages


# -- old patchsets ---------------------------------------------------------------------------


async def test_a_recheck_on_an_old_patchset_is_not_enqueued(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    await accept(scheduler, event("patchset-created", 50, 1), event("patchset-created", 50, 2))
    before = ignored("old-patchset")
    caplog.set_level("INFO", logger="crosscheck.scheduler")
    await accept(scheduler, recheck(50, 1))
    assert [r[:4] for r in await item_rows(engine)] == [
        ("check", 50, 1, "superseded"),
        ("check", 50, 2, "new"),
    ]
    assert ignored("old-patchset") == before + 1
    assert (
        "change review:50,1: not enqueued in check: patchset 1 is no longer current (patchset 2 is)"
        in caplog.messages
    )


async def test_a_newer_patchset_known_only_from_the_events_seen_counts_too(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # Patchset 2 was uploaded by another CI: recorded as seen, no item.
    scheduler = scheduler_for(engine, config(tmp_path), FakeExecutor({}))
    intake = EventIntake(engine, scheduler.accept)
    assert await intake.submit(event("patchset-created", 51, 1))
    assert await intake.submit(event("patchset-created", 51, 2, who=Account(username="other-ci")))
    assert await intake.submit(recheck(51, 1))
    assert [r[:4] for r in await item_rows(engine)] == [("check", 51, 1, "new")]


async def test_an_item_whose_patchset_was_replaced_before_planning_is_skipped(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config(tmp_path), executor)
    fake_changes(scheduler).current[52] = (3, revision(52, 3))
    await accept(scheduler, recheck(52, 2))
    await settle(scheduler)
    assert await item_rows(engine) == [
        ("check", 52, 2, "skipped", "patchset 2 is no longer current (patchset 3 is)")
    ]
    assert executor.requests == []
    assert await report_rows(engine) == []


async def test_old_patchsets_are_built_and_reported_when_the_pipeline_says_so(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config(tmp_path, current_only=False), executor)
    fake_changes(scheduler).current[53] = (2, revision(53, 2))
    await accept(scheduler, event("patchset-created", 53, 2), recheck(53, 1))
    await settle(scheduler)
    rows = await item_rows(engine)
    assert sorted(r[:4] for r in rows) == [
        ("check", 53, 1, "finished"),
        ("check", 53, 2, "finished"),
    ]
    assert sorted(await report_rows(engine)) == [
        ("@results", 1),  # running
        ("@results", 1),  # and ended
        ("@results", 2),
        ("@results", 2),
        ("review", 1),
        ("review", 2),
    ]


async def test_an_operator_enqueue_of_an_old_patchset_is_built(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config(tmp_path), executor)
    fake_changes(scheduler).current[54] = (2, revision(54, 2))
    pipeline = scheduler.config().pipelines["check"]
    async with engine.begin() as db:
        await enqueue_item(db, pipeline, event("patchset-created", 54, 1, origin=Origin.OPERATOR))
    await settle(scheduler)
    assert [r[:4] for r in await item_rows(engine)] == [("check", 54, 1, "finished")]
    assert len(executor.requests) == 1


async def test_an_unreachable_gerrit_leaves_the_item_new_until_it_answers(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config(tmp_path), executor)
    changes = fake_changes(scheduler)
    changes.unreachable = True
    now = [1000.0]
    scheduler.replans = Replans(clock=lambda: now[0])
    await accept(scheduler, event("patchset-created", 55, 1))
    await settle(scheduler, rounds=3)
    assert [r[:4] for r in await item_rows(engine)] == [("check", 55, 1, "new")]
    assert len(changes.asked) == 1  # not at every pass: after a growing delay
    now[0] += 2.5
    await settle(scheduler, rounds=2)
    assert len(changes.asked) == 2
    changes.unreachable = False
    now[0] += 4.5
    await settle(scheduler)
    assert [r[:4] for r in await item_rows(engine)] == [("check", 55, 1, "finished")]
    (payload,) = [json.loads(p) for p in await report_payloads(engine) if json.loads(p)["labels"]]
    assert payload["labels"] == {"Verified": 1}


async def report_payloads(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as db:
        return list(await db.scalars(select(reports.c.payload).order_by(reports.c.id)))
