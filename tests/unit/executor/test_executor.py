"""Whole builds on the local node provider, against local repositories."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import re
import socket
from pathlib import Path

import pytest

from crosscheck.executor import BuildStarted, Executor, LocalNodeProvider, MirrorCache
from crosscheck.model.build import BuildOutcome, BuildResult
from crosscheck.model.job import RunStep
from tests.unit.executor.conftest import PROJECT, MakeRequest, change_event, connection_for
from tests.unit.executor.gitrepos import Upstream, git
from tests.unit.executor.test_processes import pids_in, running, wait_for_file

GUARD = 120


def build_json(executor: Executor, outcome: BuildOutcome) -> dict[str, object]:
    data: dict[str, object] = json.loads((log_dir(executor, outcome) / "build.json").read_text())
    return data


def log_dir(executor: Executor, outcome: BuildOutcome) -> Path:
    return executor.logs_root / outcome.log_url


def console(executor: Executor, outcome: BuildOutcome) -> str:
    return (log_dir(executor, outcome) / "console.log").read_text()


async def test_a_passing_build(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    revision = upstream.change(PROJECT, 1042, 3, {"driver.py": "ok\n"}, "Fix")
    request = make_request(
        "echo building $GERRIT_CHANGE_NUMBER,$GERRIT_PATCHSET_NUMBER in $PWD",
        'cd "$CROSSCHECK_ARTIFACTS" && mkdir reports && echo "<b>ok</b>" > reports/r.html',
        "test -f driver.py",
        event=change_event(1042, 3, revision),
    )
    started: list[BuildStarted] = []
    finished: list[BuildOutcome] = []

    async def on_started(event: BuildStarted) -> None:
        started.append(event)

    async def on_finished(outcome: BuildOutcome) -> None:
        finished.append(outcome)

    outcome = await executor.run(request, on_started=on_started, on_finished=on_finished)

    assert outcome.result is BuildResult.SUCCESS, console(executor, outcome)
    assert outcome.log_url == f"42/1042/3/check/acme-unit/{request.build_id}/"
    assert finished == [outcome]
    assert len(started) == 1
    assert started[0].log_url == outcome.log_url
    text = console(executor, outcome)
    workspace = "/src/acme/driver"
    assert "building 1042,3 in " in text
    assert workspace in text
    assert "job:      acme-unit" in text
    assert "refspec:  refs/changes/42/1042/3 onto master" in text
    assert "--- result: SUCCESS in " in text.splitlines()[-1]
    first = text.splitlines()[0]
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| crosscheck build ", first)
    artifact = log_dir(executor, outcome) / "artifacts" / "reports" / "r.html"
    assert artifact.read_text() == "<b>ok</b>\n"
    data = build_json(executor, outcome)
    assert data["result"] == "SUCCESS"
    assert data["revision"] == revision
    assert data["change"] == 1042
    assert data["artifacts"] == 1
    steps = data["steps"]
    assert isinstance(steps, list)
    assert [s["exit_status"] for s in steps] == [0, 0, 0]
    assert list(executor.provider.work_root.iterdir()) == []  # type: ignore[attr-defined]


async def test_a_failing_step_stops_the_build(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    revision = upstream.change(PROJECT, 1, 1, {"a": "b"}, "Change")
    outcome = await executor.run(
        make_request("echo one", "exit 4", "echo never", event=change_event(1, 1, revision))
    )
    assert outcome.result is BuildResult.FAILURE
    assert outcome.detail == "step 2 'exit 4' exited 4"
    assert "never" not in console(executor, outcome).replace("echo never", "")
    assert build_json(executor, outcome)["result"] == "FAILURE"


async def test_a_timeout_kills_every_process_and_says_so(
    executor: Executor, upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 2, 1, {"a": "b"}, "Change")
    pids = tmp_path / "pids"
    request = make_request(
        f"sleep 300 & echo $! >> {pids}; sleep 300 & echo $! >> {pids}; sleep 300",
        event=change_event(2, 1, revision),
        timeout=2,
    )
    async with asyncio.timeout(GUARD):
        outcome = await executor.run(request)
    assert outcome.result is BuildResult.TIMED_OUT
    assert outcome.detail is not None
    assert outcome.detail.startswith("step 1 'sleep 300 & echo $! >> ")
    assert outcome.detail.endswith("...' ran past the job's timeout of 2s")
    assert [pid for pid in pids_in(pids) if running(pid)] == []


async def test_cancelling_the_build_kills_it_records_canceled_and_propagates(
    executor: Executor, upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 3, 1, {"a": "b"}, "Change")
    pids = tmp_path / "pids"
    request = make_request(
        f"sleep 300 & echo $! >> {pids}; sleep 300", event=change_event(3, 1, revision)
    )
    finished: list[BuildOutcome] = []

    async def on_finished(outcome: BuildOutcome) -> None:
        finished.append(outcome)

    task = asyncio.create_task(executor.run(request, on_finished=on_finished))
    await wait_for_file(pids, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [pid for pid in pids_in(pids) if running(pid)] == []
    assert [o.result for o in finished] == [BuildResult.CANCELED]
    assert build_json(executor, finished[0])["result"] == "CANCELED"
    assert "--- result: CANCELED" in console(executor, finished[0])


async def test_a_merge_conflict_runs_nothing(
    executor: Executor, upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    base = git(upstream.root / PROJECT, "rev-parse", "master")
    revision = upstream.change(PROJECT, 4, 1, {"shared.txt": "theirs"}, "Edit", start=base)
    upstream.commit(PROJECT, {"shared.txt": "ours"}, "Edit too")
    marker = tmp_path / "ran"
    outcome = await executor.run(
        make_request(f"touch {marker}", event=change_event(4, 1, revision))
    )
    assert outcome.result is BuildResult.MERGE_CONFLICT
    assert outcome.detail is not None
    assert "conflict in shared.txt" in outcome.detail
    assert not marker.exists()


async def test_secrets_are_masked_in_the_console_and_records(
    upstream: Upstream, make_request: MakeRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CI_HTTP_PASSWORD", "http-pa55word")
    provider = LocalNodeProvider(tmp_path / "work", slots=1)
    executor = Executor(
        provider, tmp_path / "logs", MirrorCache(tmp_path / "git"), secrets=["hunter2-token"]
    )
    revision = upstream.change(PROJECT, 5, 1, {"a": "b"}, "Change")
    (upstream.root / "a").symlink_to(upstream.root)  # Gerrit's authenticated /a/ prefix
    connection = connection_for(upstream, http_password_env="ACME_CI_HTTP_PASSWORD")
    request = make_request(
        "echo 'the token is hunter2-token, the password http-pa55word'",
        "exit 1 # hunter2-token",
        event=change_event(5, 1, revision),
        connection=connection,
    )
    lines: list[str] = []
    outcome = await executor.run(request, listeners=[lines.append])

    assert outcome.result is BuildResult.FAILURE
    text = console(executor, outcome)
    assert "the token is *****, the password *****" in text
    assert lines == text.splitlines()
    for path in (tmp_path / "logs").rglob("*"):
        if path.is_file():
            content = path.read_text()
            assert "hunter2-token" not in content, path
            assert "http-pa55word" not in content, path
    assert outcome.detail is not None
    assert "hunter2" not in outcome.detail


async def test_a_secret_named_by_a_reload_is_masked_from_the_next_build(
    upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    """serve asks for the secrets at each build: a reload naming a new token file must
    not leave that token printed in the clear until a restart."""
    secrets = ["old-token"]
    executor = Executor(
        LocalNodeProvider(tmp_path / "work", slots=1),
        tmp_path / "logs",
        MirrorCache(tmp_path / "git"),
        secrets=lambda: list(secrets),
    )
    revision = upstream.change(PROJECT, 6, 1, {"a": "b"}, "Change")
    event = change_event(6, 1, revision)
    first = await executor.run(make_request("echo old-token new-token", event=event))
    secrets.append("new-token")
    second = await executor.run(make_request("echo old-token new-token", event=event))
    assert "| ***** new-token" in console(executor, first)
    assert "| ***** *****" in console(executor, second)


async def test_the_job_sees_a_clean_environment_with_the_gerrit_variables(
    executor: Executor,
    upstream: Upstream,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_DB_PASSWORD", "leaked-if-you-see-this")
    revision = upstream.change(PROJECT, 1042, 2, {"a": "b"}, "Fix it\n\nBecause.")
    request = make_request(
        'env -0 > "$CROSSCHECK_ARTIFACTS/env"',
        event=change_event(1042, 2, revision, comment="recheck please"),
        env={
            "ACME_ARRAY": "array-01",
            "PATH": "/opt/acme/bin:/usr/bin:/bin",
            "CROSSCHECK_JOB": "nope",
        },
    )
    outcome = await executor.run(request)
    assert outcome.result is BuildResult.SUCCESS, console(executor, outcome)
    raw = (log_dir(executor, outcome) / "artifacts" / "env").read_text()
    env = dict(item.split("=", 1) for item in raw.split("\0") if item)

    assert "SERVICE_DB_PASSWORD" not in env
    assert "PYTEST_CURRENT_TEST" in os.environ
    assert "PYTEST_CURRENT_TEST" not in env  # nothing of the service's environment
    assert not [name for name in env if name.startswith(("PYTEST", "VIRTUAL_ENV", "SSH_"))]
    work = Path(env["CROSSCHECK_WORKSPACE"])
    assert work.parts[-2:] == ("acme", "driver")
    assert env["PWD"] == str(work)
    assert env["HOME"].startswith(str(executor.provider.work_root))  # type: ignore[attr-defined]
    assert Path(env["TMPDIR"]).parent == Path(env["HOME"]).parent
    assert env["ACME_ARRAY"] == "array-01"
    assert env["PATH"] == "/opt/acme/bin:/usr/bin:/bin"  # the job may choose its PATH
    assert env["CROSSCHECK_JOB"] == "acme-unit"  # ... but not the executor's variables
    expected = {
        "GERRIT_PROJECT": PROJECT,
        "GERRIT_BRANCH": "master",
        "GERRIT_CHANGE_NUMBER": "1042",
        "GERRIT_PATCHSET_NUMBER": "2",
        "GERRIT_PATCHSET_REVISION": revision,
        "GERRIT_REFSPEC": "refs/changes/42/1042/2",
        "GERRIT_EVENT_TYPE": "comment-added",
        "GERRIT_CHANGE_SUBJECT": "Fix the driver",
        "GERRIT_CHANGE_OWNER": '"Ada Lovelace" <ada@example.org>',
        "GERRIT_CHANGE_OWNER_USERNAME": "ada",
        "GERRIT_EVENT_ACCOUNT_EMAIL": "ada@example.org",
        "GERRIT_TOPIC": "storage",
        "GERRIT_HASHTAGS": "perf,driver",
        "GERRIT_CHANGE_WIP_STATE": "false",
        "GERRIT_HOST": "review.example.org",
        "GERRIT_PORT": "29418",
        "GERRIT_NAME": "upstream",
        "CROSSCHECK_BUILD_ID": request.build_id,
        "CROSSCHECK_PIPELINE": "check",
        "CROSSCHECK_ATTEMPT": "1",
        "CROSSCHECK_LOG_URL": outcome.log_url,
    }
    assert {k: env.get(k) for k in expected} == expected
    assert base64.b64decode(env["GERRIT_EVENT_COMMENT_TEXT"]).decode() == "recheck please"
    # Not in the event: read from the merged commit.
    assert base64.b64decode(env["GERRIT_CHANGE_COMMIT_MESSAGE"]).decode() == "Fix it\n\nBecause."
    assert len(env["GERRIT_EVENT_HASH"]) == 12
    assert "GERRIT_NEWREV" not in env


async def test_failed_workspaces_are_kept_when_asked(
    upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    provider = LocalNodeProvider(tmp_path / "work", slots=1)
    executor = Executor(
        provider, tmp_path / "logs", MirrorCache(tmp_path / "git"), keep_failed_workspaces=True
    )
    revision = upstream.change(PROJECT, 6, 1, {"a": "b"}, "Change")
    passed = await executor.run(make_request("true", event=change_event(6, 1, revision)))
    failed = await executor.run(
        make_request("echo evidence > proof; false", event=change_event(6, 1, revision))
    )
    assert passed.result is BuildResult.SUCCESS
    assert failed.result is BuildResult.FAILURE
    kept = list((tmp_path / "work").iterdir())
    assert len(kept) == 1
    assert (kept[0] / "src" / "acme" / "driver" / "proof").read_text() == "evidence\n"
    assert f"the work directory is kept: {kept[0]}" in console(executor, failed)


async def test_builds_wait_for_a_free_slot(
    upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    provider = LocalNodeProvider(tmp_path / "work", slots=1)
    executor = Executor(provider, tmp_path / "logs", MirrorCache(tmp_path / "git"))
    revision = upstream.change(PROJECT, 7, 1, {"a": "b"}, "Change")
    gate = tmp_path / "gate"
    holder = make_request(
        f"touch {tmp_path}/first; while [ ! -e {gate} ]; do sleep 0.05; done",
        event=change_event(7, 1, revision),
    )
    first = asyncio.create_task(executor.run(holder))
    await wait_for_file(tmp_path / "first", 0)
    second = asyncio.create_task(
        executor.run(make_request(f"touch {tmp_path}/second", event=change_event(7, 1, revision)))
    )
    await asyncio.sleep(0.5)
    statistics = provider.statistics()
    assert statistics.in_use == 1
    assert statistics.builds == (holder.build_id,)  # the holder, not the one waiting
    assert not (tmp_path / "second").exists()  # no slot yet
    gate.touch()
    async with asyncio.timeout(GUARD):
        results = [(await first).result, (await second).result]
    assert results == [BuildResult.SUCCESS, BuildResult.SUCCESS]
    assert provider.statistics().in_use == 0
    assert provider.statistics().builds == ()


async def test_a_missing_password_is_an_error_before_any_node(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    connection = connection_for(upstream, http_password_env="CROSSCHECK_TEST_UNSET_PASSWORD")
    outcome = await executor.run(make_request("true", connection=connection))
    assert outcome.result is BuildResult.ERROR
    assert outcome.detail is not None
    assert "CROSSCHECK_TEST_UNSET_PASSWORD is not set" in outcome.detail


async def test_a_script_step_runs_from_the_workspace(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    revision = upstream.change(
        PROJECT, 8, 1, {"ci/run.sh": "echo from-script $1\nfalse\necho not-reached\n"}, "Script"
    )
    request = make_request(event=change_event(8, 1, revision))
    job = dataclasses.replace(request.job, run=(RunStep(script="ci/run.sh"),))
    request = dataclasses.replace(request, job=job)
    outcome = await executor.run(request)
    assert outcome.result is BuildResult.FAILURE  # bash -e: `false` ends it
    text = console(executor, outcome)
    assert "from-script" in text
    assert "not-reached" not in text


@pytest.mark.parametrize(("where", "away"), [("closed port", True), ("no such project", False)])
async def test_a_workspace_gerrit_could_not_serve_says_whether_it_was_away(
    upstream: Upstream, tmp_path: Path, make_request: MakeRequest, where: str, away: bool
) -> None:
    """Gerrit down is tried again until it is back; a project it does not have is not."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}" if away else (tmp_path / "nowhere").as_uri()
    executor = Executor(
        LocalNodeProvider(tmp_path / "work", slots=1),
        tmp_path / "logs",
        MirrorCache(tmp_path / "git"),
    )
    request = make_request("true", event=change_event(revision="1" * 40))
    request = dataclasses.replace(request, connection=connection_for(upstream, http_url=url))

    outcome = await executor.run(request)

    assert outcome.result is BuildResult.ERROR
    assert outcome.source_away is away, outcome.detail


async def test_artifacts_beyond_the_budget_are_left_out_and_said(
    executor: Executor,
    upstream: Upstream,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sparse file takes no room in the work directory and all its length in a copy:
    a build could fill the disk that holds the logs and the store (1 GiB by default)."""
    monkeypatch.setattr("crosscheck.executor.executor.MAX_ARTIFACT_BYTES", 1 << 20)
    outcome = await executor.run(
        make_request(
            'cd "$CROSSCHECK_ARTIFACTS" && echo small > a.txt && truncate -s 3M sparse.bin'
            " && ln -s /etc/passwd link",
            event=change_event(1043, 1, upstream.change(PROJECT, 1043, 1, {"a": "b"}, "Big")),
        )
    )
    assert outcome.result is BuildResult.SUCCESS
    artifacts = log_dir(executor, outcome) / "artifacts"
    assert sorted(p.name for p in artifacts.iterdir()) == ["a.txt"]
    console = (log_dir(executor, outcome) / "console.log").read_text()
    assert (
        "--- artifacts: 1 file(s) left out (beyond 1 MiB in all, unreadable, or a name too long)"
        in console
    )
    data = json.loads((log_dir(executor, outcome) / "build.json").read_text())
    assert data["artifacts"] == 1


async def test_an_artifact_whose_name_is_too_long_under_the_logs_root_is_left_out(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    """Short enough in the work directory, too long once under the logs root: the build
    is the change's to judge, not an infrastructure error."""
    # Directories of up to 250 characters until the file's path is 4,090 long here.
    deep = (
        'cd "$CROSSCHECK_ARTIFACTS" && echo ok > top && left=$((4090 - ${#PWD} - 3)); '
        "while [ $left -gt 0 ]; do n=$(( left > 251 ? 250 : left - 1 )); "
        'd=$(printf "%${n}s" | tr " " d); mkdir "$d" && cd "$d"; left=$((left - n - 1)); '
        "done; echo x > f"
    )
    revision = upstream.change(PROJECT, 1044, 1, {"a": "b"}, "Deep")
    outcome = await executor.run(make_request(deep, event=change_event(1044, 1, revision)))
    assert outcome.result is BuildResult.SUCCESS, outcome.detail
    assert (log_dir(executor, outcome) / "artifacts" / "top").read_text() == "ok\n"
    console = (log_dir(executor, outcome) / "console.log").read_text()
    assert "--- artifacts: 1 file(s) left out" in console
