"""Cross-community CI on two real sandbox Gerrits: an "upstream" community whose patches
are tested inside a scenario of the "integrating" community, with one real serve.

The scenario has a component on the upstream Gerrit (at its branch tip), one pinned on
the integrating Gerrit (at a commit), and one following a branch there. The job checks
what its change asks for: each path listed in the change's EXPECT file must exist in
the scenario's workspace, so a build that did not get the component versions or the
Depends-On changes it should have fails and votes -1.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crosscheck.drivers.gerrit.rest import change_id, project_id
from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.sandbox.gerrit import PushedChange, SandboxState

from .ci_loop_harness import ci_messages, poll
from .gerrit_clients import admin_rest, create_projects, merge_change
from .two_gerrits import CHECK_PIPELINE, INTEGRATING, UPSTREAM, TwoGerrits, running_two_gerrits

RUN = uuid.uuid4().hex[:6]
NOVA = f"xc-{RUN}/nova"
RELENG = f"xc-{RUN}/releng"
INSTALLER = f"xc-{RUN}/installer"
SCENARIO = "os-xc"

JOB = """\
- label: {name: local}
- job:
    name: deploy
    node: local
    scenario: os-xc
    run:
      - 'cat pinned-versions.yaml'
      - >-
        while read -r path; do test -e "$path" || { echo "missing $path"; exit 1; };
        done < nova/EXPECT
"""


def ci_yaml(releng_sha: str) -> str:
    scenario = f"""\
- scenario:
    name: {SCENARIO}
    components:
      - {{name: nova, connection: upstream, project: {NOVA}, branch: master}}
      - {{name: releng, connection: integrating, project: {RELENG}, sha: '{releng_sha}'}}
      - {{name: installer, connection: integrating, project: {INSTALLER}, branch: master}}
    levels:
      - {{name: verified, jobs: [deploy]}}
- project:
    name: {NOVA}
    connection: upstream
    check: {{jobs: [deploy]}}
"""
    return JOB + CHECK_PIPELINE + scenario


@pytest.fixture(scope="module")
def gerrits(
    sandbox_dir: Path, second_sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoGerrits]:
    upstream, integrating = SandboxState.load(sandbox_dir), SandboxState.load(second_sandbox_dir)
    work = tmp_path_factory.mktemp("cross-community")
    asyncio.run(create_projects(upstream, NOVA))
    asyncio.run(create_projects(integrating, RELENG, INSTALLER))
    pinned = asyncio.run(merge_change(integrating, work / "merges", RELENG, "pinned"))
    # A newer commit on releng: the scenario pins the one before it.
    asyncio.run(merge_change(integrating, work / "merges", RELENG, "newer"))
    asyncio.run(merge_change(integrating, work / "merges", INSTALLER, "base"))
    with running_two_gerrits(
        sandbox_dir, second_sandbox_dir, work / "serve", ci_yaml=ci_yaml(pinned)
    ) as running:
        running.pinned = pinned  # type: ignore[attr-defined]
        running.work = work  # type: ignore[attr-defined]
        yield running


def expect(*paths: str) -> dict[str, str]:
    """The change's EXPECT file: paths its build must find in the scenario's workspace."""
    return {"EXPECT": "".join(f"{p}\n" for p in ("nova/EXPECT", *paths))}


def scenario_line(message: str) -> str:
    found = re.search(rf"^Scenario {SCENARIO}, .*$", message, re.MULTILINE)
    assert found, message
    return found.group(0)


async def upstream_patch(
    gerrits: TwoGerrits, files: dict[str, str], subject: str
) -> tuple[PushedChange, Any]:
    pushed = await gerrits.upstream.push(files, subject, project=NOVA)
    detail = await gerrits.upstream.wait_reports(pushed, gerrits.serve, timeout=120)
    return pushed, detail


def last_message(detail: Any) -> str:
    return str(ci_messages(detail)[-1]["message"])


async def tip(gerrits: TwoGerrits, name: str, project: str) -> str:
    async with admin_rest(gerrits.gerrit(name).state) as admin:
        found = await admin.get(f"/projects/{project_id(project)}/branches/master")
    return str(found["revision"])


async def test_an_upstream_patch_is_tested_in_the_scenario_and_reported_upstream_only(
    gerrits: TwoGerrits,
) -> None:
    pinned: str = gerrits.pinned  # type: ignore[attr-defined]
    files = {"fix.txt": "fixed\n", **expect("nova/fix.txt", "releng/pinned.txt")}
    pushed, detail = await upstream_patch(gerrits, files, "Fix nova")
    message = last_message(detail)
    assert await gerrits.upstream.vote(pushed) == 1, message
    line = scenario_line(message)
    assert f"releng {pinned[:12]}" in line, line  # pinned, not the newer tip
    assert f"+upstream:{pushed.number},{pushed.patchset}" in line, line
    installer = await tip(gerrits, INTEGRATING, INSTALLER)
    assert f"installer {installer[:12]}" in line, line
    reported = gerrits.serve.query(
        "SELECT DISTINCT connection FROM reports WHERE change_number = ? AND project = ?",
        pushed.number,
        NOVA,
    )
    assert {c for (c,) in reported} <= {UPSTREAM, RESULTS_SERVICE}, reported
    # The result crosscheck keeps for the job names the same versions.
    comments = gerrits.serve.query(
        "SELECT comment FROM results WHERE change_number = ? AND project = ? "
        "AND value != 'in_progress'",
        pushed.number,
        NOVA,
    )
    assert [line] == [c for (c,) in comments], comments


async def test_a_depends_on_across_the_two_gerrits_is_honoured(gerrits: TwoGerrits) -> None:
    needed = await gerrits.integrating.push(
        {"support.txt": "needed by nova\n"}, "Support nova's fix", project=INSTALLER
    )
    url = f"{gerrits.integrating.state.http_url}/c/{INSTALLER}/+/{needed.number}"
    files = {"uses.txt": "x\n", **expect("installer/support.txt", "nova/uses.txt")}
    pushed, detail = await upstream_patch(gerrits, files, f"Use it\n\nDepends-On: {url}")
    message = last_message(detail)
    assert await gerrits.upstream.vote(pushed) == 1, message
    assert f"+{INTEGRATING}:{needed.number},{needed.patchset}" in scenario_line(message)
    # Nothing is said on the integrating Gerrit's change: it is not one the CI tests.
    assert await gerrits.integrating.messages(needed) == []
    # An operator sees at the default level what the item was built with.
    logged = gerrits.serve.log.read_text()
    assert f"depends on {INTEGRATING}:{needed.number},{needed.patchset}" in logged
    assert f"runs in scenario {SCENARIO}" in logged


async def test_an_abandoned_dependency_is_reported_instead_of_a_build_without_a_vote(
    gerrits: TwoGerrits,
) -> None:
    gone = await gerrits.integrating.push({"gone.txt": "x\n"}, "To abandon", project=INSTALLER)
    async with admin_rest(gerrits.integrating.state) as admin:
        await admin.post(f"/changes/{change_id(INSTALLER, gone.number)}/abandon", {})
    url = f"{gerrits.integrating.state.http_url}/c/{INSTALLER}/+/{gone.number}"
    pushed, detail = await upstream_patch(gerrits, expect(), f"Needs it\n\nDepends-On: {url}")
    message = last_message(detail)
    assert "\nBuild not run (check pipeline): " in message, message
    assert "abandoned" in message, message
    assert await gerrits.upstream.vote(pushed) is None  # no vote for another change's state
    assert gerrits.serve.built(UPSTREAM, pushed) == []


async def test_a_merge_on_the_integrating_side_makes_the_candidate_the_next_patch_uses(
    gerrits: TwoGerrits,
) -> None:
    work: Path = gerrits.work  # type: ignore[attr-defined]
    merged = await merge_change(gerrits.integrating.state, work / "merges", INSTALLER, "feature")

    async def candidate() -> str | None:
        rows = gerrits.serve.query(
            "SELECT id, versions FROM candidates WHERE scenario = ? ORDER BY created_at DESC",
            SCENARIO,
        )
        return next((i for i, versions in rows if merged in versions), None)

    made = await poll(candidate, 60, "a candidate with the merged installer", gerrits.serve)
    files = expect("installer/feature.txt")
    pushed, detail = await upstream_patch(gerrits, files, "Tested against the new candidate")
    message = last_message(detail)
    assert await gerrits.upstream.vote(pushed) == 1, message
    line = scenario_line(message)
    assert f"candidate {made[:12]} the newest" in line, line
    assert f"installer {merged[:12]}" in line, line


async def test_crosscheck_run_builds_the_change_as_serve_would(
    gerrits: TwoGerrits, tmp_path: Path
) -> None:
    """A developer reproducing a report: the same scenario versions and dependency."""
    needed = await gerrits.integrating.push(
        {"local.txt": "needed\n"}, "Needed locally", project=INSTALLER
    )
    url = f"{gerrits.integrating.state.http_url}/c/{INSTALLER}/+/{needed.number}"
    files = expect("installer/local.txt")
    pushed, detail = await upstream_patch(gerrits, files, f"Try it\n\nDepends-On: {url}")
    reported = scenario_line(last_message(detail))
    command = [
        sys.executable, "-m", "crosscheck", "run", "deploy",
        "--change", f"{pushed.number},{pushed.patchset}", "--connection", UPSTREAM,
        "--database", f"sqlite+aiosqlite:///{gerrits.serve.database}",
        "--config", str(gerrits.serve.config),
    ]  # fmt: skip
    env = {**os.environ, "CROSSCHECK_STATE_DIR": str(tmp_path)}
    ran = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, env=env, timeout=300
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert reported in ran.stderr.splitlines(), ran.stderr


async def test_a_footer_on_a_change_caught_up_after_a_restart_is_honoured(
    gerrits: TwoGerrits,
) -> None:
    """Catch-up rebuilds the events serve missed: with their commit messages."""
    needed = await gerrits.integrating.push({"late.txt": "x\n"}, "While down", project=INSTALLER)
    gone = await gerrits.integrating.push({"gone2.txt": "x\n"}, "To abandon", project=INSTALLER)
    async with admin_rest(gerrits.integrating.state) as admin:
        await admin.post(f"/changes/{change_id(INSTALLER, gone.number)}/abandon", {})
    base = gerrits.integrating.state.http_url.rstrip("/")
    gerrits.serve.stop()
    try:
        ok = await gerrits.upstream.push(
            expect("installer/late.txt"),
            f"Pushed while serve was down\n\nDepends-On: {base}/c/{INSTALLER}/+/{needed.number}",
            project=NOVA,
        )
        refused = await gerrits.upstream.push(
            expect(),
            f"Also while down\n\nDepends-On: {base}/c/{INSTALLER}/+/{gone.number}",
            project=NOVA,
        )
    finally:
        gerrits.serve.start()
        await gerrits.serve.ready()
    detail = await gerrits.upstream.wait_reports(ok, gerrits.serve, timeout=120)
    assert await gerrits.upstream.vote(ok) == 1, last_message(detail)
    assert f"+{INTEGRATING}:{needed.number},1" in scenario_line(last_message(detail))
    detail = await gerrits.upstream.wait_reports(refused, gerrits.serve, timeout=120)
    assert "abandoned" in last_message(detail)
    assert await gerrits.upstream.vote(refused) is None
    assert gerrits.serve.origins(UPSTREAM, ok) == ["catchup"]
