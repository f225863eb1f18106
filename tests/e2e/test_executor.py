"""Builds against the real sandbox Gerrit: merged workspaces, conflicts, required projects, `run`.

Each test works on its own branch, so moving its tip (by submitting a change
through Gerrit, as a reviewer would) never disturbs another test.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from subprocess import PIPE

import pytest

from crosscheck.config import load_config
from crosscheck.drivers.gerrit.rest import change_id, project_id
from crosscheck.executor import Executor, executor_from_config
from crosscheck.model.build import BuildRequest, BuildResult
from crosscheck.model.config import Config
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState

from .gerrit_clients import admin_rest, ci_rest
from .source_harness import sandbox_connection

PROJECT = "sandbox/ci-sandbox"

JOBS = """
- label: {name: lab}
- job:
    name: exec-pass
    node: lab
    required_projects: [sandbox/second]
    run:
      - cat feature.txt other.txt
      - echo "parents $(git log -1 --format=%P)"
      - echo "refspec $GERRIT_REFSPEC on $GERRIT_BRANCH"
      - test -d "$CROSSCHECK_SRC_ROOT/sandbox/second/.git"
      - git -C "$CROSSCHECK_SRC_ROOT/sandbox/second" rev-parse --abbrev-ref HEAD
      - cp .git/config "$CROSSCHECK_ARTIFACTS/git-config"
      - env > "$CROSSCHECK_ARTIFACTS/env.txt"
- job:
    name: exec-fail
    node: lab
    run: ["echo failing on purpose", "exit 3"]
- job:
    name: exec-escapes
    node: lab
    run:
      - "printf 'said: \\\\033]0;TITLE\\\\007\\\\033[2J\\\\033[31mRED\\\\033[0m done\\\\n'"
- job:
    name: exec-stopped
    node: lab
    run:
      - "trap 'echo cleaning up; exit 7' TERM; echo started; sleep 60 & wait"
"""


@pytest.fixture
def config_dir(sandbox: SandboxState, tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "connection.yaml").write_text(sandbox.connection_file.read_text())
    (directory / "jobs.yaml").write_text(JOBS)
    (directory / "executor.yaml").write_text(
        f"- executor: {{logs_root: {tmp_path / 'logs'}, work_root: {tmp_path / 'work'}, "
        f"git_cache: {tmp_path / 'git'}}}\n"
    )
    return directory


@pytest.fixture
def config(config_dir: Path) -> Config:
    result = load_config([config_dir])
    assert result.config is not None, result.errors
    return result.config


async def new_branch(state: SandboxState) -> str:
    branch = f"exec-{uuid.uuid4().hex[:10]}"
    async with admin_rest(state) as admin:
        await admin.put(
            f"/projects/{project_id(PROJECT)}/branches/{branch}", {"revision": "master"}
        )
    return branch


async def submit(state: SandboxState, pushed: PushedChange) -> None:
    """Merge a change as a project would: the CI's Verified, a reviewer's +2, submit."""
    review = f"/changes/{change_id(pushed.project, pushed.number)}/revisions/current/review"
    async with ci_rest(state) as ci:
        await ci.post(review, {"labels": {"Verified": 1}})
    async with admin_rest(state) as admin:
        await admin.post(review, {"labels": {"Code-Review": 2}})
        await admin.post(f"/changes/{change_id(pushed.project, pushed.number)}/submit", {})


def request_for(
    state: SandboxState, config: Config, job: str, pushed: PushedChange
) -> BuildRequest:
    change = Change(
        project=pushed.project,
        branch=pushed.branch,
        number=pushed.number,
        change_id=pushed.change_id,
        url=pushed.url,
    )
    patchset = PatchSet(pushed.patchset, pushed.revision, pushed.ref)
    event = Event(
        type=EventType.PATCHSET_CREATED,
        connection="sandbox",
        created_on=0,
        project=pushed.project,
        change=change,
        patchset=patchset,
    )
    return BuildRequest(
        f"e2e-{uuid.uuid4().hex[:8]}",
        1,
        "check",
        config.jobs[job],
        event,
        sandbox_connection(state),
    )


async def test_a_change_is_merged_onto_the_moved_tip_with_its_required_project(
    sandbox: SandboxState, config: Config, tmp_path: Path
) -> None:
    branch = await new_branch(sandbox)
    repo = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    change = await repo.push_change({"feature.txt": "feature\n"}, "Feature", branch=branch)
    other = await repo.push_change({"other.txt": "other\n"}, "Other", branch=branch)
    await submit(sandbox, other)  # the branch tip moves past the change's parent

    executor = executor_from_config(config)
    outcome = await executor.run(request_for(sandbox, config, "exec-pass", change))

    log_dir = executor.logs_root / outcome.log_url
    console = (log_dir / "console.log").read_text()
    assert outcome.result is BuildResult.SUCCESS, console
    assert "| feature" in console
    assert "| other" in console
    # Submitting `other` fast-forwarded the branch; the change is merged onto it.
    assert f"parents {other.revision} {change.revision}" in console
    assert f"refspec {change.ref} on {branch}" in console
    assert "| master" in console  # sandbox/second has no such branch: its master
    git_config = (log_dir / "artifacts" / "git-config").read_text()
    password = sandbox.ci.http_password
    assert password not in git_config
    assert f"url = {sandbox.http_url}{PROJECT}" in git_config
    env = (log_dir / "artifacts" / "env.txt").read_text()
    assert password not in env
    assert f"GERRIT_CHANGE_NUMBER={change.number}" in env
    for path in (tmp_path / "git").rglob("config"):
        assert password not in path.read_text()


async def test_a_conflicting_change_is_a_merge_conflict_naming_the_file(
    sandbox: SandboxState, config: Config, tmp_path: Path
) -> None:
    branch = await new_branch(sandbox)
    repo = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    mine = await repo.push_change({"shared.txt": "mine\n"}, "Mine", branch=branch)
    theirs = await repo.push_change({"shared.txt": "theirs\n"}, "Theirs", branch=branch)
    await submit(sandbox, theirs)

    executor: Executor = executor_from_config(config)
    outcome = await executor.run(request_for(sandbox, config, "exec-pass", mine))

    assert outcome.result is BuildResult.MERGE_CONFLICT
    assert outcome.detail is not None
    assert "conflict in shared.txt" in outcome.detail
    console = (executor.logs_root / outcome.log_url / "console.log").read_text()
    assert "MERGE_CONFLICT" in console
    assert "--- step" not in console


def crosscheck_run(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crosscheck", "run", *args, "--config", str(config_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


async def test_crosscheck_run_on_a_pushed_change(
    sandbox: SandboxState, config_dir: Path, tmp_path: Path
) -> None:
    branch = await new_branch(sandbox)
    repo = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    change = await repo.push_change(
        {"feature.txt": "feature\n", "other.txt": "other\n"}, "Run me", branch=branch
    )

    passed = crosscheck_run(config_dir, "exec-pass", "--change", str(change.number))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"refspec {change.ref} on {branch}" in passed.stdout
    assert "SUCCESS in " in passed.stderr
    assert "logs: " in passed.stderr
    logs = Path(passed.stderr.split("logs: ", 1)[1].strip())
    assert logs.is_relative_to(tmp_path / "logs")
    assert (logs / "console.log").read_text().splitlines() == passed.stdout.splitlines()

    failed = crosscheck_run(config_dir, "exec-fail", "--change", f"{change.number},1")
    assert failed.returncode == 1
    assert "failing on purpose" in failed.stdout
    assert "FAILURE in " in failed.stderr
    assert "step 2 'exit 3' exited 3" in failed.stderr

    missing = crosscheck_run(config_dir, "exec-pass", "--change", f"{change.number},7")
    assert missing.returncode == 1
    assert f"change {change.number} has no patchset 7 (patchsets: 1)" in missing.stderr


async def test_sigterm_to_crosscheck_run_gives_the_step_its_grace(
    sandbox: SandboxState, config_dir: Path, tmp_path: Path
) -> None:
    """As Ctrl-C does: a supervisor's or `timeout`'s SIGTERM reaches the step's trap,
    and the build ends canceled with its console kept."""
    repo = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    branch = await new_branch(sandbox)
    change = await repo.push_change({"stop.txt": "stop\n"}, "Stop me", branch=branch)
    command = ["-m", "crosscheck", "run", "exec-stopped", "--change", str(change.number)]
    running = await asyncio.create_subprocess_exec(
        sys.executable, *command, "--config", str(config_dir), stdout=PIPE, stderr=PIPE
    )
    try:
        assert running.stdout is not None
        async with asyncio.timeout(120):  # the step has started, its trap set
            while (line := await running.stdout.readline()) and not line.endswith(b"| started\n"):
                pass
        running.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(running.communicate(), 60)
    finally:
        if running.returncode is None:
            running.kill()
    assert running.returncode == 128 + signal.SIGTERM, err.decode()
    assert "cleaning up" in out.decode()
    assert "stopped by SIGTERM: the build was canceled" in err.decode()
    assert "Traceback" not in err.decode()
    consoles = list((tmp_path / "logs").rglob("console.log"))
    assert len(consoles) == 1
    assert "cleaning up" in consoles[0].read_text()


async def test_crosscheck_run_shows_a_changes_output_without_its_terminal_controls(
    sandbox: SandboxState, config_dir: Path, tmp_path: Path
) -> None:
    """A change's output would otherwise retitle, clear or write the clipboard of the
    operator's terminal; its text stays, and the console log keeps every byte."""
    repo = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    branch = await new_branch(sandbox)
    change = await repo.push_change({"esc.txt": "esc\n"}, "Escapes", branch=branch)
    ran = crosscheck_run(config_dir, "exec-escapes", "--change", str(change.number))
    assert ran.returncode == 0, ran.stderr
    (said,) = [line for line in ran.stdout.splitlines() if "| said:" in line]
    assert said.endswith("| said: RED done")
    assert "\x1b" not in ran.stdout
    assert "\x07" not in ran.stdout
    (console,) = (tmp_path / "logs").rglob("console.log")
    assert "\x1b]0;TITLE\x07" in console.read_text()
