"""Gerrit restarted while builds prepare: retried with backoff, and no negative vote.

One `crosscheck serve` with a single slot: change A's `blocker` holds the slot until
the test releases it, so the builds of B and C are still waiting when the sandbox
Gerrit is stopped with the real CLI. Their changes were fetched into the mirror while
they were planned; the mirror is removed before Gerrit stops (as a mirror set aside
as corrupt would be), so, released, they try to fetch from the stopped Gerrit and
end in ERROR, saying the failed request. `hello` (3 attempts, the default) retries
after its backoff, once Gerrit is back, and passes: B gets +1. `once` (1 attempt) is
tried again too: a try that found Gerrit away is not counted against a job's attempts
(it once ended C's item as "infrastructure error, no vote cast" until someone asked
for a recheck), so C gets +1 as well.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState
from crosscheck.sandbox.gerrit.process import running_pid

from .ci_loop_harness import (
    PROJECT,
    ServeProcess,
    ci_messages,
    ci_vote,
    poll,
    running_serve,
    wait_reports,
    write_config,
)
from .conftest import crosscheck

CI_YAML = """\
- label:
    name: local
- executor:
    slots: 1
    kill_grace: 2
    git_cache: {git_cache}
    git_stall_time: {stall}s
    confine: none  # `blocker` waits for a file in the test's /tmp, out of a confined sight
- pipeline:
    name: check
    manager: independent
    trigger:
      sandbox:
        - event: patchset-created
    success:
      sandbox:
        labels: {{Verified: 1}}
    failure:
      sandbox:
        labels: {{Verified: -1}}
- job:
    name: blocker
    node: local
    files: [BLOCK]
    run: ['while [ ! -e {release} ]; do sleep 0.2; done']
- job:
    name: hello
    node: local
    files: [HELLO]
    run: ['true']
- job:
    name: once
    node: local
    files: [ONCE]
    attempts: 1
    run: ['true']
- project:
    name: sandbox/ci-sandbox
    check:
      jobs: [blocker, hello, once]
"""


#: The executor's `git_stall_time` here: a frozen Gerrit's fetch ends after it.
STALL = 3


def builds_of(serve: ServeProcess, pushed: PushedChange) -> list[Any]:
    return serve.query(
        "SELECT b.job, b.attempt, b.state, b.result, b.detail, b.finished_at, b.not_before "
        "FROM builds b JOIN items i ON i.id = b.item_id WHERE i.change_number = ? "
        "ORDER BY b.job, b.attempt",
        pushed.number,
    )


def first_attempts_failed(rows: list[Any]) -> bool:
    first = [r for r in rows if r[1] == 1]
    return bool(first) and all(r[3] == "ERROR" for r in first)


async def wait_builds(
    serve: ServeProcess, pushed: PushedChange, what: str, check: Any
) -> list[Any]:
    async def found() -> list[Any] | None:
        rows = builds_of(serve, pushed)
        return rows if check(rows) else None

    return await poll(found, 120, what, serve)


async def slot_held(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess
) -> tuple[SandboxRepo, str]:
    """A developer's clone and this test's tag, once a `blocker` build holds the only
    slot (until `tmp_path/release` exists)."""
    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    tag = uuid.uuid4().hex[:8]
    blocking = await work.push_change({"BLOCK": tag}, "Holds the only slot")
    await wait_builds(
        serve, blocking, "the blocker to run", lambda rows: rows and rows[0][2] == "running"
    )
    return work, tag


def remove_mirrors(git_cache: Path) -> None:
    """The git cache removed, as an operator or a mirror set aside would. The prefetch
    that filled it may still be counting its fetch beside the mirror (a file written and
    renamed under the mirror's lock, just after the commit arrived): tried again then."""
    for _ in range(50):
        try:
            shutil.rmtree(git_cache)
            return
        except OSError:
            time.sleep(0.1)
    shutil.rmtree(git_cache)


async def prefetched(git_cache: Path, *changes: PushedChange) -> bool | None:
    """True once the project's mirror holds every change's commit."""
    for mirror in git_cache.glob(f"*/{PROJECT}.git"):
        held = [
            subprocess.run(
                ["git", "cat-file", "-e", f"{change.revision}^{{commit}}"],
                cwd=mirror, capture_output=True, check=False,
            ).returncode == 0
            for change in changes
        ]  # fmt: skip
        if all(held):
            return True
    return None


@pytest.fixture
def serve(sandbox_dir: Path, tmp_path: Path) -> Iterator[ServeProcess]:
    """A serve with one slot; `blocker` builds wait for `tmp_path/release`."""
    sandbox = SandboxState.load(sandbox_dir)
    yaml = CI_YAML.format(release=tmp_path / "release", git_cache=tmp_path / "git", stall=STALL)
    with running_serve(
        write_config(sandbox, tmp_path / "config", ci_yaml=yaml), tmp_path / "state"
    ) as made:
        yield made


async def test_gerrit_restarted_while_builds_prepare_gives_no_negative_vote(
    sandbox_dir: Path, tmp_path: Path, serve: ServeProcess
) -> None:
    sandbox = SandboxState.load(sandbox_dir)
    release = tmp_path / "release"
    work, tag = await slot_held(sandbox, tmp_path, serve)
    b = await work.push_change({"HELLO": tag}, "Retried after Gerrit is back")
    c = await work.push_change({"HELLO": tag, "ONCE": tag}, "Out of attempts")
    await wait_builds(serve, b, "B's build", lambda rows: len(rows) == 1)
    await wait_builds(serve, c, "C's builds", lambda rows: len(rows) == 2)
    assert [r[2] for r in builds_of(serve, b) + builds_of(serve, c)] == ["waiting"] * 3

    # The prefetch made the mirror hold B's and C's changes: without it, they must fetch.
    # Gerrit stops first, so a prefetch still in flight cannot fill a mirror made anew.
    await poll(lambda: prefetched(tmp_path / "git", b, c), 30, "the prefetches", serve)
    try:
        crosscheck(sandbox_dir, "down")
        remove_mirrors(tmp_path / "git")
        release.touch()
        failed = await wait_builds(serve, c, "C's builds to fail", first_attempts_failed)
        await wait_builds(serve, b, "B's first attempt to fail", first_attempts_failed)
    finally:
        crosscheck(sandbox_dir, "up")

    # The failed request, said in a few words, with no secret in it.
    for _job, attempt, _state, _result, detail, *_ in failed:
        if attempt > 1:
            continue
        assert detail.startswith(f"git fetch of refs/changes/{c.number % 100:02d}/")
        assert detail.endswith(f"/a/{PROJECT}: connection refused")

    b_detail = await wait_reports(sandbox, b, serve, timeout=240)
    c_detail = await wait_reports(sandbox, c, serve, timeout=240)

    assert ci_vote(b_detail) == 1
    (b_message,) = [m["message"] for m in ci_messages(b_detail)]
    assert "Build succeeded (check pipeline)." in b_message
    hello = builds_of(serve, b)
    assert hello[0][1:4] == (1, "finished", "ERROR")
    assert hello[-1][2:4] == ("finished", "SUCCESS")
    # The retry waited its backoff (30 s, jittered by at most a fifth) after the failure.
    waited = datetime.fromisoformat(hello[1][6]) - datetime.fromisoformat(hello[0][5])
    assert waited >= timedelta(seconds=23)

    assert ci_vote(c_detail) == 1
    (c_message,) = [m["message"] for m in ci_messages(c_detail)]
    assert "Build succeeded (check pipeline)." in c_message
    once = [row for row in builds_of(serve, c) if row[0] == "once"]
    assert once[0][1:4] == (1, "finished", "ERROR")
    assert once[0][4].endswith(": connection refused")
    assert once[-1][2:4] == ("finished", "SUCCESS")


async def test_a_fetch_from_a_frozen_gerrit_ends_as_a_stall_and_the_retry_votes(
    sandbox_dir: Path, tmp_path: Path, serve: ServeProcess
) -> None:
    """Gerrit frozen (SIGSTOP: it takes connections and says nothing, as a hung server
    or a dropped NAT entry does) while a build fetches: the fetch ends after the stall
    time, not git's ten minutes, as an infrastructure error; thawed, the retry votes +1."""
    sandbox = SandboxState.load(sandbox_dir)
    work, tag = await slot_held(sandbox, tmp_path, serve)
    b = await work.push_change({"HELLO": tag}, "Fetched from a frozen Gerrit")
    await wait_builds(serve, b, "B's build", lambda rows: len(rows) == 1)
    await poll(lambda: prefetched(tmp_path / "git", b), 30, "the prefetch", serve)
    pid = running_pid(sandbox)
    assert pid is not None, "the sandbox Gerrit is not running"
    os.kill(pid, signal.SIGSTOP)
    try:
        remove_mirrors(tmp_path / "git")
        frozen = time.monotonic()
        (tmp_path / "release").touch()
        failed = await wait_builds(serve, b, "B's first attempt to fail", first_attempts_failed)
        took = time.monotonic() - frozen
    finally:
        os.kill(pid, signal.SIGCONT)
    assert took < 60, f"the stalled fetch took {took:.0f} s to end"
    (first,) = [row for row in failed if row[1] == 1]
    assert first[4].startswith("git fetch of ")
    assert first[4].endswith(f": the server stalled (nothing for {STALL} s)")

    detail = await wait_reports(sandbox, b, serve, timeout=240)
    assert ci_vote(detail) == 1
    hello = builds_of(serve, b)
    assert [row[1:4] for row in hello] == [(1, "finished", "ERROR"), (2, "finished", "SUCCESS")]
    (message,) = [m["message"] for m in ci_messages(detail)]
    assert "Build succeeded (check pipeline)." in message
