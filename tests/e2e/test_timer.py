"""Periodic pipelines on the real sandbox: a real `crosscheck serve` fires `* * * * *` timers.

Two pipelines fire every minute: `periodic` on the HEAD branch of a project named
exactly, `release` on named branches of the projects a ^regex matches (listed from
Gerrit). The builds must run on each branch's tip, with Gerrit Trigger's branch
variables, and nothing may be posted to Gerrit: a timer's items have no change.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from crosscheck.drivers.gerrit.projects import GerritProjects
from crosscheck.drivers.gerrit.rest import change_id, project_id
from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState

from .ci_loop_harness import PROJECT, ServeProcess, poll, running_serve, write_config
from .gerrit_clients import admin_rest, ci_rest

SECOND = "sandbox/second"
#: A branch of SECOND made for this module, left behind at the tip master had then.
RELEASE = f"release-{uuid.uuid4().hex[:8]}"

CONFIG = f"""\
- label:
    name: local
- pipeline:
    name: periodic
    manager: supercedent
    trigger:
      timer:
        - time: "* * * * *"
- pipeline:
    name: release
    manager: supercedent
    trigger:
      timer:
        - time: "* * * * *"
          branches: [master, {RELEASE}, no-such-branch]
- job:
    name: tip
    node: local
    run:
      - 'git rev-parse HEAD > "$CROSSCHECK_ARTIFACTS/revision"'
      - 'env | grep ^GERRIT_ | sort > "$CROSSCHECK_ARTIFACTS/gerrit.env"'
- project:
    name: {PROJECT}
    periodic: {{jobs: [tip]}}
- project:
    name: ^sandbox/sec
    release: {{jobs: [tip]}}
"""

#: (pipeline, project, branch) of every build a scheduled time must give.
EXPECTED = [
    ("periodic", PROJECT, "master"),
    ("release", SECOND, RELEASE),
    ("release", SECOND, "master"),
]


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("timer")


@pytest.fixture(scope="module")
def open_change(sandbox_dir: Path, module_dir: Path) -> PushedChange:
    """An open change on the timed project: nothing may ever be posted on it."""
    sandbox = SandboxState.load(sandbox_dir)

    async def push() -> PushedChange:
        work = await SandboxRepo(sandbox, PROJECT, module_dir / "ci-sandbox").open()
        return await work.push_change({f"timer-{uuid.uuid4().hex[:8]}.txt": "1\n"}, "Open")

    return asyncio.run(push())


@pytest.fixture(scope="module")
def serve(sandbox_dir: Path, module_dir: Path, open_change: PushedChange) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    asyncio.run(branch_then_merge(sandbox, module_dir))
    config = write_config(sandbox, module_dir / "config", ci_yaml=CONFIG)
    with running_serve(config, module_dir / "state") as made:
        yield made


async def branch_then_merge(sandbox: SandboxState, module_dir: Path) -> None:
    """RELEASE at master's tip, then a change merged on master: two different tips."""
    async with admin_rest(sandbox) as admin:
        branch = f"/projects/{project_id(SECOND)}/branches/{RELEASE}"
        await admin.put(branch, {"revision": "master"})
    work = await SandboxRepo(sandbox, SECOND, module_dir / "second").open()
    pushed = await work.push_change({f"{RELEASE}.txt": "after the branch\n"}, "Move master")
    cid = change_id(pushed.project, pushed.number)
    async with ci_rest(sandbox) as ci:
        await ci.post(f"/changes/{cid}/revisions/current/review", {"labels": {"Verified": 1}})
    async with admin_rest(sandbox) as admin:
        await admin.post(f"/changes/{cid}/revisions/current/review", {"labels": {"Code-Review": 2}})
        assert (await admin.post(f"/changes/{cid}/submit", {}))["status"] == "MERGED"


async def tip(sandbox: SandboxState, project: str, branch: str) -> str:
    async with ci_rest(sandbox) as rest:
        found = await rest.get(f"/projects/{project_id(project)}/branches/{branch}")
    return str(found["revision"])


def finished_builds(serve: ServeProcess) -> dict[tuple[str, str, str], Any]:
    """The first finished build of each (pipeline, project, branch)."""
    rows = serve.query(
        "SELECT i.pipeline, i.project, i.branch, b.result, b.log_url FROM builds b "
        "JOIN items i ON i.id = b.item_id WHERE b.state = 'finished' ORDER BY b.finished_at"
    )
    found: dict[tuple[str, str, str], Any] = {}
    for pipeline, project, branch, result, log_url in rows:
        found.setdefault((pipeline, project, branch), (result, log_url))
    return found


def log_dir(serve: ServeProcess, log_url: str) -> Path:
    return serve.state.joinpath("logs", *(unquote(p) for p in log_url.strip("/").split("/")))


async def test_every_minute_each_branch_tip_is_built_and_nothing_is_posted(
    sandbox: SandboxState, serve: ServeProcess, open_change: PushedChange
) -> None:
    async def all_built() -> dict[tuple[str, str, str], Any] | None:
        found = finished_builds(serve)
        return found if all(key in found for key in EXPECTED) else None

    # The first scheduled minute is at most 60 s away; its builds (first mirror fetches,
    # two slots) take seconds, or more on a loaded machine; a later minute serves too.
    builds = await poll(all_built, 150, "a build of every timed branch", serve)

    tips = {key: await tip(sandbox, key[1], key[2]) for key in EXPECTED}
    assert tips[("release", SECOND, RELEASE)] != tips[("release", SECOND, "master")]
    for key in EXPECTED:
        result, log_url = builds[key]
        assert result == "SUCCESS", (key, serve.log_tail())
        logs = log_dir(serve, log_url)
        record = json.loads((logs / "build.json").read_text())
        built = (logs / "artifacts" / "revision").read_text().strip()
        assert (record["branch"], record["change"], record["revision"]) == (key[2], None, built)
        assert built == tips[key], key
        env = (logs / "artifacts" / "gerrit.env").read_text().splitlines()
        assert f"GERRIT_BRANCH={key[2]}" in env
        assert f"GERRIT_REFNAME=refs/heads/{key[2]}" in env
        assert "GERRIT_EVENT_TYPE=timer" in env
        assert not [line for line in env if line.startswith(("GERRIT_CHANGE", "GERRIT_PATCH"))]
    assert not any(key[2] == "no-such-branch" for key in finished_builds(serve))

    # Each scheduled time is one item per pipeline, project and branch.
    fired = [
        (pipeline, project, branch, json.loads(event)["created_on"])
        for pipeline, project, branch, event in serve.query(
            "SELECT pipeline, project, branch, event FROM items"
        )
    ]
    assert len(fired) == len(set(fired))
    assert all(created_on % 60 == 0 for *_, created_on in fired)

    # Nothing reported: no report queued, no message on the open change, no error.
    assert serve.query("SELECT report_key FROM reports") == []
    async with ci_rest(sandbox) as rest:
        detail = await rest.get(
            f"/changes/{change_id(open_change.project, open_change.number)}",
            params={"o": ["MESSAGES", "DETAILED_ACCOUNTS"]},
        )
    assert [m["tag"] for m in detail["messages"]] == ["autogenerated:gerrit:newPatchSet"]
    assert [m for m in detail["messages"] if m["author"].get("username") == "crosscheck-ci"] == []
    log = serve.log.read_text()
    assert "ERROR" not in log, log
    assert "Traceback" not in log, log


async def test_the_project_listing_pages_through_the_real_gerrit(sandbox: SandboxState) -> None:
    # The sandbox has a handful of projects: one per page makes the paging run.
    async with ci_rest(sandbox) as rest:
        whole = await GerritProjects(rest).projects()
        paged = await GerritProjects(rest, page=1).projects()
    assert {PROJECT, SECOND} <= set(whole)
    assert paged == whole
