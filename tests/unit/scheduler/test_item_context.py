"""An item's context, decided when it is planned: Depends-On changes found on either
Gerrit and handed to every build, a dependency that cannot be used reported instead of a
build (no vote), a Gerrit away planned again later, and a scenario's versions named in
the report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.drivers.base import FoundPatchset
from crosscheck.drivers.gerrit.errors import GerritUnreachableError
from crosscheck.model.build import BuildResult
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.states import ItemState
from crosscheck.scheduler.context_plan import ScenarioUnavailableError
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store import work

from .fakes import FakeChanges, FakeExecutor, settle
from .test_scheduler import CONFIG as ONE_GERRIT
from .test_scheduler import accept, load, patchset_created, queued_reports, scheduler_for

#: The project says which Gerrit it is on, now that there are two.
CONFIG = ONE_GERRIT.replace(
    "    name: acme/driver\n", "    name: acme/driver\n    connection: review\n"
)

OTHER = """
- connection:
    name: other
    host: other.example.org
    http_url: https://other.example.org/
    user: ci
"""
SCENARIO = """
- scenario:
    name: os-odl
    components:
      - {name: driver, connection: review, project: acme/driver, branch: master}
      - {name: releng, connection: other, project: opnfv/releng, sha: '%s'}
    levels:
      - {name: verified, jobs: [unit]}
"""


def with_message(event: Event, message: str) -> Event:
    assert event.change is not None
    return dataclasses.replace(
        event, change=dataclasses.replace(event.change, commit_message=message)
    )


def found(number: int, project: str, status: str = "NEW", message: str = "") -> FoundPatchset:
    change = Change(project, "master", number, status=status, commit_message=message)
    return FoundPatchset(change, PatchSet(1, f"{number:040d}", f"refs/changes/{number}/1"))


FOOTER = "Fix\n\nDepends-On: https://other.example.org/c/opnfv/releng/+/7\n"


def two_gerrits(
    engine: AsyncEngine, tmp_path: Path, status: str = "NEW"
) -> tuple[Scheduler, FakeExecutor, FakeChanges]:
    """A scheduler on `review` and `other`, whose change 7 is on opnfv/releng."""
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, load(tmp_path, CONFIG + OTHER), executor, ["driver.py"])
    other = FakeChanges([])
    other.found[7] = found(7, "opnfv/releng", status=status)
    scheduler.changes = {**scheduler.changes, "other": other}
    return scheduler, executor, other


async def item_of(engine: AsyncEngine) -> work.ItemRow:
    async with engine.connect() as db:
        (item,) = await work.items_in(db, ItemState.FINISHED)
    return item


async def test_a_dependency_on_the_other_gerrit_reaches_every_build(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler, executor, _ = two_gerrits(engine, tmp_path)
    await accept(scheduler, with_message(patchset_created(7, 1), FOOTER))
    await settle(scheduler)
    assert {r.job.name for r in executor.requests} == {"unit", "lab"}
    for request in executor.requests:
        (dependency,) = request.context.dependencies
        assert (dependency.connection, dependency.number) == ("other", 7)
        assert dependency.url == "https://other.example.org/c/opnfv/releng/+/7"
    (report,) = await queued_reports(engine)
    assert json.loads(report.payload)["labels"] == {"Verified": 1}


async def test_an_abandoned_dependency_is_reported_without_a_build_or_a_vote(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler, executor, _ = two_gerrits(engine, tmp_path, "ABANDONED")
    await accept(scheduler, with_message(patchset_created(7, 1), FOOTER))
    await settle(scheduler)
    assert executor.requests == []
    item = await item_of(engine)
    assert item.detail == "dependency problem"
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {}  # another change's state is no verdict on this one
    assert payload["message"].startswith("Build not run (check pipeline): ")
    assert "abandoned" in payload["message"]
    assert "https://other.example.org/c/opnfv/releng/+/7" in payload["message"]


async def test_a_gerrit_away_plans_the_item_again_later_and_reports_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    scheduler, executor, other = two_gerrits(engine, tmp_path)
    away = FakeChanges([])

    async def down(number: int, patchset: int | None) -> FoundPatchset:
        raise GerritUnreachableError("down (fake)")

    away.find_patchset = down  # type: ignore[method-assign]
    scheduler.changes = {**scheduler.changes, "other": away}
    await accept(scheduler, with_message(patchset_created(7, 1), FOOTER))
    await settle(scheduler, rounds=2)
    assert executor.requests == []
    assert await queued_reports(engine) == []
    scheduler.changes = {**scheduler.changes, "other": other}
    scheduler.replans.now()  # as when the other Gerrit is heard from again
    await settle(scheduler)
    assert len(executor.requests) == 2  # planned once the other Gerrit answered


async def test_a_scenario_job_is_reported_with_the_versions_it_ran_with(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    releng = "b" * 40
    text = CONFIG.replace("    run: [make test]", "    run: [make test]\n    scenario: os-odl")
    config = load(tmp_path, text + OTHER + SCENARIO % releng)
    executor = FakeExecutor({"unit": BuildResult.SUCCESS})
    scheduler = scheduler_for(engine, config, executor, ["driver.py"])
    tips = {"driver": "a" * 40, "releng": releng}

    async def refs_now(scenario: object) -> dict[str, str]:
        return tips

    scheduler.context.refs_now = refs_now
    await accept(scheduler, patchset_created(7, 1))
    await settle(scheduler)
    unit = next(r for r in executor.requests if r.job.name == "unit")
    assert unit.scenario is not None
    assert unit.scenario.candidate is None
    assert {c.name: c.sha for c in unit.scenario.components} == tips
    lab = next(r for r in executor.requests if r.job.name == "lab")
    assert lab.scenario is None  # only the job that names the scenario runs in it
    (report,) = await queued_reports(engine)
    message = json.loads(report.payload)["message"]
    assert (
        "Scenario os-odl, no candidate yet, components at their configured refs: "
        f"driver {'a' * 12} +review:7,1; releng {'b' * 12}"
    ) in message


async def test_a_scenario_ref_that_does_not_exist_is_reported_without_a_vote(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    text = CONFIG.replace("    run: [make test]", "    run: [make test]\n    scenario: os-odl")
    config = load(tmp_path, text + OTHER + SCENARIO % ("b" * 40))
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config, executor, ["driver.py"])

    async def refs_now(scenario: object) -> dict[str, str]:
        raise ScenarioUnavailableError("scenario os-odl: component driver has no branch 'mastr'")

    scheduler.context.refs_now = refs_now
    await accept(scheduler, patchset_created(7, 1))
    await settle(scheduler)
    assert executor.requests == []
    (report,) = await queued_reports(engine)
    payload = json.loads(report.payload)
    assert payload["labels"] == {}
    assert payload["message"].startswith(
        "Build could not run (check pipeline): scenario os-odl: component driver has no "
        "branch 'mastr'"
    )
    assert (await item_of(engine)).detail == "infrastructure error"
