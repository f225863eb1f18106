"""A build that takes more of this host's disk than executor.disk_limit is stopped:
its work directory on a local slot, its logs everywhere, counted by the blocks files
take and once per inode."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from crosscheck.executor import Executor, LocalNodeProvider, MirrorCache, disk_guard
from crosscheck.executor.disk_guard import UnmeasurableError, disk_used
from crosscheck.model.build import BuildResult
from tests.unit.executor.conftest import PROJECT, MakeRequest, change_event
from tests.unit.executor.gitrepos import Upstream

MIB = 1 << 20


def test_files_count_by_the_blocks_they_take_each_inode_once(tmp_path: Path) -> None:
    (tmp_path / "full").write_bytes(os.urandom(2 * MIB))
    os.link(tmp_path / "full", tmp_path / "again")  # no more disk
    with (tmp_path / "sparse").open("wb") as sparse:  # 1 GiB long, nothing in it
        sparse.truncate(1 << 30)
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "small").write_bytes(os.urandom(MIB))
    (tmp_path / "link").symlink_to("/usr")  # not followed
    used = disk_used([tmp_path])
    assert 3 * MIB <= used < 3 * MIB + 256 * 1024
    assert disk_used([tmp_path / "missing"]) == 0


def test_a_directory_made_unreadable_is_made_readable_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root opens a mode-000 directory anyway: serve's user would not, and the first
    opening is refused here as it would be for that user."""
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "big").write_bytes(os.urandom(2 * MIB))
    (tmp_path / "hide").chmod(0)
    real_open = os.open
    opened_with: list[int] = []

    def open_as_a_user(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if name == "hide":
            mode = stat.S_IMODE(os.stat(name, dir_fd=kwargs.get("dir_fd")).st_mode)
            opened_with.append(mode)
            if mode & 0o500 != 0o500:
                raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_as_a_user)
    assert disk_used([tmp_path]) >= 2 * MIB
    assert opened_with == [0o700]  # made readable before it was opened


def test_a_directory_that_stays_unreadable_cannot_be_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hide").mkdir()
    real_open = os.open

    def refused(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if name == "hide":
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(UnmeasurableError, match="a directory 'hide' of the build cannot be read"):
        disk_used([tmp_path])


def test_a_tree_deeper_than_path_max_is_measured(tmp_path: Path) -> None:
    name = "d" * 250
    here = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(20):  # 5,000 characters of path
            os.mkdir(name, dir_fd=here)
            below = os.open(name, os.O_RDONLY, dir_fd=here)
            os.close(here)
            here = below
        big = os.open("big", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=here)
        os.write(big, os.urandom(2 * MIB))
        os.close(big)
    finally:
        os.close(here)
    assert disk_used([tmp_path]) >= 2 * MIB


async def test_a_build_shorter_than_the_guard_s_period_is_measured_at_its_end(
    tmp_path: Path, upstream: Upstream, make_request: MakeRequest
) -> None:
    provider = LocalNodeProvider(tmp_path / "work", slots=1, kill_grace=1.0)
    executor = Executor(
        provider, tmp_path / "logs", MirrorCache(tmp_path / "git"), disk_limit=4 * MIB
    )
    revision = upstream.change(PROJECT, 23, 1, {"a": "b"}, "Quick and big")
    request = make_request("seq 1 1000000", event=change_event(23, 1, revision))  # 6.9 MB
    outcome = await executor.run(request)
    assert outcome.result is BuildResult.FAILURE
    assert outcome.detail is not None
    assert outcome.detail.endswith("more than executor.disk_limit (4.0 MiB)")
    console = (executor.logs_root / outcome.log_url / "console.log").read_text()
    assert f"--- {outcome.detail}" in console


async def test_the_measure_at_a_build_s_end_walks_its_logs_not_its_checkout(
    tmp_path: Path,
    upstream: Upstream,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The work directory goes as the build ends: walking a big checkout once more
    would only delay the vote. What stays, the logs, is measured."""
    walked: list[list[Path]] = []
    measure = disk_guard.measure

    async def spy(roots: list[Path], limit: int) -> str | None:
        walked.append(list(roots))
        return await measure(roots, limit)

    monkeypatch.setattr(disk_guard, "measure", spy)
    provider = LocalNodeProvider(tmp_path / "work", slots=1, kill_grace=1.0)
    executor = Executor(
        provider, tmp_path / "logs", MirrorCache(tmp_path / "git"), disk_limit=4 * MIB
    )
    revision = upstream.change(PROJECT, 24, 1, {"a": "b"}, "Quick")
    outcome = await executor.run(make_request("true", event=change_event(24, 1, revision)))
    assert outcome.result is BuildResult.SUCCESS, outcome.detail
    assert walked == [[executor.logs_root / outcome.log_url]]


async def test_a_build_over_its_disk_limit_is_stopped_and_fails_saying_why(
    tmp_path: Path,
    upstream: Upstream,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crosscheck.executor.disk_guard.CHECK_INTERVAL", 0.05)
    provider = LocalNodeProvider(tmp_path / "work", slots=1, kill_grace=1.0)
    executor = Executor(
        provider, tmp_path / "logs", MirrorCache(tmp_path / "git"), disk_limit=4 * MIB
    )
    revision = upstream.change(PROJECT, 21, 1, {"a": "b"}, "Fill the disk")
    request = make_request(
        "echo small enough",
        "trap 'echo stopped cleanly; exit 1' TERM; "
        "head -c 8M /dev/urandom > big.bin; echo written; sleep 30 & wait",
        "echo never here",
        event=change_event(21, 1, revision),
    )
    outcome = await executor.run(request)
    log_dir = executor.logs_root / outcome.log_url
    console = (log_dir / "console.log").read_text()
    assert outcome.result is BuildResult.FAILURE, console
    assert outcome.detail is not None
    assert outcome.detail.startswith("the build took 8.")
    assert outcome.detail.endswith(
        "MiB of this host's disk, more than executor.disk_limit (4.0 MiB)"
    )
    assert f"--- {outcome.detail}: every process of the build was stopped" in console
    assert "| stopped cleanly" in console  # its grace, as a timeout gives
    assert "never here" not in console
    steps = json.loads((log_dir / "build.json").read_text())["steps"]
    assert [(s["number"], s["exit_status"]) for s in steps] == [(1, 0), (2, None)]
