"""Builds of timer items: the branch tip checked out, Gerrit Trigger's branch variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.executor import Executor, MirrorCache
from crosscheck.executor.git import Git, GitError
from crosscheck.executor.workspace import GerritRemote, WorkspaceBuilder
from crosscheck.model.build import BuildResult
from crosscheck.model.events import TIMER_EVENT, Event, Origin, TimerTick
from tests.unit.executor.conftest import PROJECT, MakeRequest
from tests.unit.executor.gitrepos import Upstream, git
from tests.unit.executor.test_executor import build_json, console, log_dir

SCHEDULED = 1_773_108_000  # 2026-03-10 02:00 UTC


def tick(branch: str) -> Event:
    return Event(
        type=TIMER_EVENT,
        connection="upstream",
        created_on=SCHEDULED,
        project=PROJECT,
        origin=Origin.TIMER,
        timer=TimerTick("daily", branch),
    )


async def test_the_branch_tip_is_checked_out(upstream: Upstream, tmp_path: Path) -> None:
    stable = upstream.commit(PROJECT, {"fix.txt": "1"}, "Stable fix", branch="stable/1.0")
    upstream.commit(PROJECT, {"next.txt": "2"}, "On master")
    builder = WorkspaceBuilder(
        Git(), MirrorCache(tmp_path / "git"), GerritRemote("upstream", upstream.url, False)
    )
    workspace = await builder.prepare(tick("stable/1.0"), (), tmp_path / "src")
    assert (workspace.main.branch, workspace.main.revision) == ("stable/1.0", stable)
    with pytest.raises(GitError, match=f"^{PROJECT} has no branch stable/2.0$"):
        await builder.prepare(tick("stable/2.0"), (), tmp_path / "other")


async def test_a_timer_build_has_the_branch_variables_and_no_change_ones(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    tip = git(upstream.root / PROJECT, "rev-parse", "master")
    request = make_request('env -0 > "$CROSSCHECK_ARTIFACTS/env"', event=tick("master"))
    outcome = await executor.run(request)
    assert outcome.result is BuildResult.SUCCESS, console(executor, outcome)
    raw = (log_dir(executor, outcome) / "artifacts" / "env").read_text()
    env = dict(item.split("=", 1) for item in raw.split("\0") if item)

    gerrit = {name: value for name, value in env.items() if name.startswith("GERRIT_")}
    assert sorted(gerrit) == [
        "GERRIT_BRANCH",
        "GERRIT_EVENT_HASH",
        "GERRIT_EVENT_TYPE",
        "GERRIT_HOST",
        "GERRIT_NAME",
        "GERRIT_PORT",
        "GERRIT_PROJECT",
        "GERRIT_REFNAME",
        "GERRIT_SCHEME",
    ]
    assert (gerrit["GERRIT_BRANCH"], gerrit["GERRIT_REFNAME"]) == ("master", "refs/heads/master")
    assert (gerrit["GERRIT_EVENT_TYPE"], gerrit["GERRIT_PROJECT"]) == ("timer", PROJECT)
    record = build_json(executor, outcome)
    assert (record["branch"], record["ref"], record["revision"]) == (
        "master",
        "refs/heads/master",
        tip,
    )
    assert (record["change"], record["patchset"]) == (None, None)
    assert outcome.log_url.startswith("projects/acme/driver/check/acme-unit/")
    assert "ref:      refs/heads/master (its tip, scheduled 2026-03-10 02:00 UTC)" in console(
        executor, outcome
    )
