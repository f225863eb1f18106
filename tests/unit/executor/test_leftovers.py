"""After a crash, the next start stops what the dead service's builds left running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosscheck.executor.leftovers import leftover_groups, stop_leftovers
from crosscheck.executor.local import LocalNodeProvider

from .test_processes import pids_in, running, wait_for_file

#: A build's step with a background child, as a dead service would have left it.
STEP = 'sleep 300 & echo $! >> "$PIDS"; echo $$ >> "$PIDS"; trap "" TERM; sleep 300'


@pytest.fixture
def orphans(tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Two builds' steps, each in a session of its own, by build id."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    for build_id in ("deadbeef01", "deadbeef02"):
        started[build_id] = subprocess.Popen(
            ["bash", "-c", STEP],
            env={
                "PATH": "/usr/bin:/bin",
                "PIDS": str(tmp_path / build_id),
                "CROSSCHECK_BUILD_ID": build_id,
            },
            start_new_session=True,
        )
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
    for build_id in orphans:
        await wait_for_file(tmp_path / build_id, 2)
    assert leftover_groups(["deadbeef01"]) == {orphans["deadbeef01"].pid: "deadbeef01"}
    # The step ignores SIGTERM: the grace runs out and SIGKILL ends it.
    stopped = await stop_leftovers(["deadbeef01", "not-running"], grace=0.5)
    assert stopped == {orphans["deadbeef01"].pid: "deadbeef01"}
    orphans["deadbeef01"].wait(timeout=30)
    async with asyncio.timeout(30):
        while any(running(pid) for pid in pids_in(tmp_path / "deadbeef01")):
            await asyncio.sleep(0.05)
    assert all(running(pid) for pid in pids_in(tmp_path / "deadbeef02"))  # another build's


def test_the_service_never_stops_its_own_process_group() -> None:
    # A child left in the service's group (not a build's session) is never signalled.
    child = subprocess.Popen(
        ["sleep", "300"], env={"PATH": "/usr/bin:/bin", "CROSSCHECK_BUILD_ID": "own-group"}
    )
    try:
        deadline = time.monotonic() + 30
        while b"own-group" not in Path(f"/proc/{child.pid}/environ").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.05)  # until exec replaced the forked copy's environment
        assert leftover_groups(["own-group"]) == {}
        assert asyncio.run(stop_leftovers(["own-group"], grace=0)) == {}
        assert child.poll() is None
    finally:
        child.kill()
        child.wait(timeout=30)


async def test_the_local_provider_removes_interrupted_builds_work_directories(
    tmp_path: Path,
) -> None:
    provider = LocalNodeProvider(tmp_path / "work", slots=1, kill_grace=0.5)
    for name in ("aa11-x1", "aa11-x2", "bb22-x3"):
        (tmp_path / "work" / name / "src").mkdir(parents=True)
        (tmp_path / "work" / name / "src" / "ro.txt").write_text("x")
        (tmp_path / "work" / name / "src").chmod(0o500)  # a build may leave it read-only
    await provider.recover(["aa11"])
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["bb22-x3"]
