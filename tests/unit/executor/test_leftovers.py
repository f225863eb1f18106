"""After a crash, the next start stops what the dead service's builds left running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosscheck.executor.leftovers import leftover_groups, stop_leftovers
from crosscheck.executor.local import LocalNodeProvider

from .test_processes import pids_in, running, wait_for_file

#: A build's step with a background child, as a dead service would have left it; both
#: ignore SIGTERM (set before anything is written, so a test never sees it unset).
STEP = 'trap "" TERM; sleep 300 & echo $! >> "$PIDS"; echo $$ >> "$PIDS"; sleep 300'


def build_id() -> str:
    """Unique per run: two test runs on one host must not find each other's processes."""
    return uuid.uuid4().hex


def spawn(script: str, pids: Path, marker: str) -> subprocess.Popen[bytes]:
    """A build's step, in a session of its own, with the build's marker."""
    return subprocess.Popen(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin", "PIDS": str(pids), "CROSSCHECK_BUILD_ID": marker},
        start_new_session=True,
    )


@pytest.fixture
def orphans(tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Two builds' steps, each in a session of its own, by build id."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    for each in (build_id(), build_id()):
        started[each] = spawn(STEP, tmp_path / each, each)
    yield started
    for process in started.values():
        kill_group(process)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


async def test_the_groups_of_the_named_builds_are_found_and_stopped(
    tmp_path: Path, orphans: dict[str, subprocess.Popen[bytes]]
) -> None:
    one, other = orphans
    for each in orphans:
        await wait_for_file(tmp_path / each, 2)
    assert leftover_groups([one]) == {orphans[one].pid: one}
    # The step ignores SIGTERM: the grace runs out and SIGKILL ends it, and it is waited for.
    stopped = await stop_leftovers([one, build_id()], grace=0.5)
    assert stopped == {orphans[one].pid: one}
    assert [pid for pid in pids_in(tmp_path / one) if running(pid)] == []
    assert all(running(pid) for pid in pids_in(tmp_path / other))  # another build's


async def test_a_process_that_left_the_group_is_found_again_in_its_own(tmp_path: Path) -> None:
    # `setsid` escapes a group; the marker in its environment goes with it.
    marker = build_id()
    step = spawn(
        'setsid sleep 300 & echo $! >> "$PIDS"; echo $$ >> "$PIDS"; wait', tmp_path / "pids", marker
    )
    try:
        await wait_for_file(tmp_path / "pids", 2)
        escaped, leader = pids_in(tmp_path / "pids")
        async with asyncio.timeout(30):
            while os.getpgid(escaped) != escaped:  # until `setsid` ran, on a slow machine
                await asyncio.sleep(0.01)
        assert sorted(leftover_groups([marker])) == sorted({leader, escaped})
        await stop_leftovers([marker], grace=1)
        assert not running(escaped)
        assert not running(leader)
    finally:
        kill_group(step)


def test_the_service_never_stops_its_own_process_group() -> None:
    # A child left in the service's group (not a build's session) is never signalled.
    marker = build_id()
    child = subprocess.Popen(
        ["sleep", "300"], env={"PATH": "/usr/bin:/bin", "CROSSCHECK_BUILD_ID": marker}
    )
    try:
        deadline = time.monotonic() + 30
        while marker.encode() not in Path(f"/proc/{child.pid}/environ").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.05)  # until exec replaced the forked copy's environment
        assert leftover_groups([marker]) == {}
        assert asyncio.run(stop_leftovers([marker], grace=0)) == {}
        assert child.poll() is None
    finally:
        child.kill()
        child.wait(timeout=30)


async def test_the_local_provider_removes_interrupted_builds_work_directories(
    tmp_path: Path,
) -> None:
    provider = LocalNodeProvider(tmp_path / "work", slots=1, kill_grace=0.5)
    interrupted, other = build_id(), build_id()
    for name in (f"{interrupted}-x1", f"{interrupted}-x2", f"{other}-x3"):
        (tmp_path / "work" / name / "src").mkdir(parents=True)
        (tmp_path / "work" / name / "src" / "ro.txt").write_text("x")
        (tmp_path / "work" / name / "src").chmod(0o500)  # a build may leave it read-only
    await provider.recover([interrupted], keep_work_dirs=True)  # keep_failed_workspaces
    assert len(list((tmp_path / "work").iterdir())) == 3
    await provider.recover([interrupted], keep_work_dirs=False)
    assert [p.name for p in (tmp_path / "work").iterdir()] == [f"{other}-x3"]
