"""Process groups: nothing a step started survives its end, its timeout or its cancellation."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from crosscheck.executor.nodes import StepTimeoutError
from crosscheck.executor.processes import MAX_LINE, group_alive, pump_lines, run_in_group

#: A guard against a hang, never an assertion about speed.
GUARD = 60


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has been killed; only its parent has yet to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def pids_in(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


async def wait_for_file(path: Path, lines: int) -> None:
    async with asyncio.timeout(GUARD):
        while not path.exists() or len(path.read_text().split()) < lines:
            await asyncio.sleep(0.05)


async def run(script: str, tmp_path: Path, lines: list[str], *, timeout: float = GUARD) -> int:
    return await run_in_group(
        ["bash", "-e", "-c", script],
        {"PATH": "/usr/bin:/bin", "PIDS": str(tmp_path / "pids")},
        tmp_path,
        lines.append,
        timeout=timeout,
        grace=0.5,
    )


BACKGROUND = 'sleep 300 & echo $! >> "$PIDS"; (sleep 300 & echo $! >> "$PIDS"; wait) & '


async def test_a_timeout_kills_the_step_and_every_background_child(tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.raises(StepTimeoutError):
        await run(
            BACKGROUND + 'echo started; echo $$ >> "$PIDS"; sleep 300', tmp_path, lines, timeout=1
        )
    pids = pids_in(tmp_path / "pids")
    assert len(pids) == 3
    assert [pid for pid in pids if running(pid)] == []
    assert lines == ["started"]


async def test_children_that_ignore_sigterm_get_sigkill(tmp_path: Path) -> None:
    script = "trap '' TERM; " + BACKGROUND + "sleep 300"
    with pytest.raises(StepTimeoutError):
        await run(script, tmp_path, [], timeout=1)
    pids = pids_in(tmp_path / "pids")
    assert pids
    assert [pid for pid in pids if running(pid)] == []


async def test_cancelling_kills_the_whole_group_and_propagates(tmp_path: Path) -> None:
    task = asyncio.create_task(run(BACKGROUND + "sleep 300", tmp_path, []))
    await wait_for_file(tmp_path / "pids", 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pids = pids_in(tmp_path / "pids")
    assert [pid for pid in pids if running(pid)] == []


async def test_background_children_end_with_a_step_that_succeeded(tmp_path: Path) -> None:
    lines: list[str] = []
    async with asyncio.timeout(GUARD):  # the children keep stdout open: no waiting for them
        status = await run(BACKGROUND + "echo done", tmp_path, lines)
    assert status == 0
    assert lines == ["done"]
    assert [pid for pid in pids_in(tmp_path / "pids") if running(pid)] == []


async def test_the_exit_status_is_returned(tmp_path: Path) -> None:
    assert await run("exit 3", tmp_path, []) == 3
    lines: list[str] = []
    assert await run("false; echo never", tmp_path, lines) == 1
    assert lines == []


async def test_output_lines_partial_last_line_and_overlong_lines(tmp_path: Path) -> None:
    lines: list[str] = []
    script = (
        f"printf 'one\\r\\ntwo\\n'; head -c {MAX_LINE + 10} /dev/zero | tr '\\0' x; "
        "printf '\\nlast'"
    )
    await run(script, tmp_path, lines)
    assert lines[:2] == ["one", "two"]
    assert lines[2] == "x" * MAX_LINE
    assert lines[3:] == ["x" * 10, "last"]


async def test_stderr_is_in_the_output_and_bytes_are_decoded_safely(tmp_path: Path) -> None:
    lines: list[str] = []
    await run("echo to-stderr >&2; printf '\\xff\\n'", tmp_path, lines)
    assert lines == ["to-stderr", "\ufffd"]


class Chunks:
    """A stream whose reads return exactly these pieces."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    async def read(self, n: int = -1) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


@pytest.mark.parametrize("first", [1, MAX_LINE - 1, MAX_LINE, MAX_LINE + 3])
async def test_overlong_lines_are_cut_however_the_chunks_fall(first: int) -> None:
    lines: list[str] = []
    rest = b"x" * (MAX_LINE * 2 + 7 - first) + b"\nend"
    await pump_lines(Chunks(b"x" * first, rest), lines.append)
    assert [len(line) for line in lines] == [MAX_LINE, MAX_LINE, 7, 3]


def test_group_alive_sees_this_process_group() -> None:
    assert group_alive(os.getpgrp())
    assert not group_alive(2**22 + 12345)


def test_a_group_that_is_gone_is_known_without_reading_every_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After most steps nothing of their group is left: that is asked of the kernel,
    not read from every process of the host, on the event loop."""

    def listing(group: int) -> list[int]:
        raise AssertionError("read every process of the host")

    monkeypatch.setattr("crosscheck.executor.processes.group_members", listing)
    assert not group_alive(2**22 + 12345)


def test_a_group_left_with_a_zombie_alone_is_not_alive() -> None:
    child = subprocess.Popen(["true"], start_new_session=True)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never ended"
        time.sleep(0.01)
    try:
        assert not group_alive(child.pid)  # the kernel still has it: it is not reaped
    finally:
        child.wait()
