"""A change built in a scenario on real git repositories standing in for two Gerrits:
every component at its planned version, the change and what it depends on merged onto
their components, the pinned versions written; Depends-On for a job without one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from crosscheck.executor.executor import Executor
from crosscheck.model.build import BuildRequest, BuildResult, change_ref
from crosscheck.model.events import CandidateComponent
from crosscheck.model.item_context import Dependency, ItemContext, ScenarioVersions
from crosscheck.model.job import Job, JobScenario, RunStep

from .conftest import PROJECT, change_event, connection_for
from .gitrepos import Upstream
from .test_executor import build_json
from .test_executor import console as console_of

RELENG = "opnfv/releng"


def integrating_gerrit(tmp_path: Path) -> Upstream:
    # Its own parent: the scratch clones of two upstreams must not meet.
    other = Upstream(tmp_path / "other" / "integrating")
    other.create(RELENG, {"deploy.sh": "echo v1\n"})
    return other


def dependency(
    gerrit: str, project: str, number: int, revision: str, *, merged: bool = False
) -> Dependency:
    return Dependency(
        gerrit, project, "master", number, 1, revision, change_ref(number, 1),
        f"https://{gerrit}.example.org/c/{project}/+/{number}", "MERGED" if merged else "NEW",
    )  # fmt: skip


def scenario_request(
    upstream: Upstream, other: Upstream, context: ItemContext, *steps: str, number: int = 1042
) -> BuildRequest:
    revision = upstream.change(PROJECT, number, 1, {"fix.txt": "fixed\n"}, "Fix it")
    job = Job(
        name="deploy",
        node="local",
        run=tuple(RunStep(shell=s) for s in steps),
        scenario=JobScenario("os-odl", "daily"),
    )
    connections = {
        "upstream": connection_for(upstream),
        "integrating": connection_for(other, name="integrating"),
    }
    event = change_event(number, 1, revision)
    return BuildRequest("b1", 1, "check", job, event, connections["upstream"], connections, context)


def versions(upstream: Upstream, other: Upstream, driver: str, releng: str) -> ScenarioVersions:
    return ScenarioVersions(
        "os-odl",
        "daily",
        "a" * 64,
        (
            CandidateComponent("driver", driver, "upstream", PROJECT),
            CandidateComponent("releng", releng, "integrating", RELENG),
        ),
        asked="daily",
    )


async def test_the_change_is_merged_onto_its_component_at_the_candidates_version(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    other = integrating_gerrit(tmp_path)
    pinned = upstream.commit(PROJECT, {"version.txt": "pinned\n"}, "the candidate's")
    upstream.commit(PROJECT, {"version.txt": "newer\n"}, "past the candidate")
    releng_v1 = other.commit(RELENG, {"deploy.sh": "echo pinned\n"}, "releng pinned")
    other.commit(RELENG, {"deploy.sh": "echo newer\n"}, "releng newer")
    context = ItemContext(scenarios=(versions(upstream, other, pinned, releng_v1),))
    request = scenario_request(
        upstream,
        other,
        context,
        # The change's parent is the tip, so the merge brings the tip's version along:
        # the candidate's commit is what the change is merged onto.
        'test "$(git -C driver rev-parse HEAD^1)" = ' + pinned,
        "test -f driver/fix.txt",
        'test "$(cat releng/deploy.sh)" = "echo pinned"',
        "grep -q 'upstream:1042,1' pinned-versions.yaml",
        'test "$CROSSCHECK_VERSION_RELENG" = ' + releng_v1,
    )
    outcome = await executor.run(request)
    console = console_of(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, console
    assert "preparing scenario os-odl at candidate aaaaaaaaaaaa, upstream:1042,1" in console
    pinned_file = next((tmp_path / "work").rglob("pinned-versions.yaml"), None)
    if pinned_file is not None:  # kept only with keep_failed_workspaces; the grep above ran
        data = yaml.safe_load(pinned_file.read_text())
        assert data["components"]["releng"] == releng_v1


async def test_a_dependency_on_the_other_gerrit_is_merged_onto_its_component(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    other = integrating_gerrit(tmp_path)
    releng = other.commit(RELENG, {"deploy.sh": "echo base\n"}, "base")
    # Change 1042 exists on both Gerrits: the integrating one's is another change.
    needed = other.change(RELENG, 1042, 1, {"installer.sh": "new\n"}, "Needed by nova")
    driver = upstream.commit(PROJECT, {"version.txt": "base\n"}, "base")
    context = ItemContext(
        (dependency("integrating", RELENG, 1042, needed),),
        (versions(upstream, other, driver, releng),),
    )
    request = scenario_request(
        upstream, other, context, "test -f releng/installer.sh", "test -f driver/fix.txt",
        "test ! -f driver/installer.sh",
    )  # fmt: skip
    outcome = await executor.run(request)
    console = console_of(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, console
    assert "integrating:1042,1, upstream:1042,1" in console
    recorded = build_json(executor, outcome)["scenario"]
    assert recorded == {
        "name": "os-odl",
        "candidate": "a" * 64,
        "level": "daily",
        "components": {"driver": driver, "releng": releng},
        "depends_on": ["integrating:1042,1"],
    }


async def test_a_dependency_that_does_not_merge_is_a_merge_conflict_naming_both(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    other = integrating_gerrit(tmp_path)
    releng = other.commit(RELENG, {"deploy.sh": "echo base\n"}, "base")
    other.commit(RELENG, {"deploy.sh": "echo tip\n"}, "tip")
    clash = other.change(RELENG, 7, 1, {"deploy.sh": "echo clash\n"}, "Clash")
    driver = upstream.commit(PROJECT, {"version.txt": "base\n"}, "base")
    context = ItemContext(
        (dependency("integrating", RELENG, 7, clash),),
        (versions(upstream, other, driver, releng),),
    )
    outcome = await executor.run(scenario_request(upstream, other, context, "true"))
    assert outcome.result is BuildResult.MERGE_CONFLICT
    assert "integrating:7,1 does not merge onto releng" in (outcome.detail or "")
    assert "deploy.sh" in (outcome.detail or "")


async def test_without_a_scenario_a_dependency_lands_beside_or_in_its_project(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    other = integrating_gerrit(tmp_path)
    needed = other.change(RELENG, 9, 1, {"installer.sh": "new\n"}, "Needed")
    merged = other.commit(RELENG, {"old.sh": "x\n"}, "merged long ago")
    revision = upstream.change(PROJECT, 1042, 1, {"fix.txt": "fixed\n"}, "Fix it")
    context = ItemContext(
        (
            dependency("integrating", RELENG, 9, needed),
            dependency("integrating", RELENG, 3, merged, merged=True),
        )
    )
    connections = {
        "upstream": connection_for(upstream),
        "integrating": connection_for(other, name="integrating"),
    }
    job = Job(
        name="unit",
        node="local",
        run=tuple(
            RunStep(shell=line)
            for line in (
                "test -f fix.txt",  # steps run in the change's own project
                f"test -f $CROSSCHECK_SRC_ROOT/{RELENG}/installer.sh",
            )
        ),
    )
    request = BuildRequest(
        "b9", 1, "check", job, change_event(1042, 1, revision), connections["upstream"],
        connections, context,
    )  # fmt: skip
    outcome = await executor.run(request)
    console = console_of(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, console
    assert f"{RELENG}: master at" in console


async def test_a_pinned_component_builds_from_its_mirror_while_its_gerrit_is_away(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    other = integrating_gerrit(tmp_path)
    releng = other.commit(RELENG, {"deploy.sh": "echo pinned\n"}, "pinned")
    driver = upstream.commit(PROJECT, {"version.txt": "base\n"}, "base")
    context = ItemContext(scenarios=(versions(upstream, other, driver, releng),))
    first = await executor.run(scenario_request(upstream, other, context, "true"))
    assert first.result is BuildResult.SUCCESS
    other.root.rename(other.root.with_name("away"))  # the integrating Gerrit is down
    again = scenario_request(upstream, other, context, "test -f releng/deploy.sh", number=1043)
    outcome = await executor.run(replace(again, build_id="b2"))
    assert outcome.result is BuildResult.SUCCESS, console_of(executor, outcome)
