"""A command in its own session, its output line by line, and the whole group stopped.

The command is the leader of a new session and process group, so everything it
starts (background jobs included) can be signalled at once: SIGTERM, a grace
period, then SIGKILL. A process that starts its own session (`setsid`) leaves the
group and escapes this; see docs/executor.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from crosscheck.executor.nodes import LineSink, NodeError, StepTimeoutError

log = logging.getLogger(__name__)

CHUNK = 65536
#: Longer lines are cut, so one runaway line cannot take the service's memory.
MAX_LINE = 65536
POLL_SECONDS = 0.05
#: How long output may still arrive after the group is gone (from processes that escaped it).
DRAIN_SECONDS = 2.0
KILL_WAIT_SECONDS = 10.0


async def run_in_group(
    argv: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    output: LineSink,
    *,
    timeout: float,
    grace: float,
    wrapped: bool = False,
) -> int:
    """Run `argv` as a new session; its exit status, or StepTimeoutError after `timeout`.
    `wrapped`: argv is a wrapper that passes no signal on (bubblewrap), spared SIGTERM so
    that the command's processes get their grace before the wrapper is killed."""
    # Our own pipe rather than asyncio's: asyncio's `wait()` also waits for its pipes to
    # close, which background children holding stdout would delay until they end.
    reader_fd, writer_fd = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=writer_fd,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        os.close(reader_fd)
        raise NodeError(f"cannot start {argv[0]} in {cwd}: {error.strerror}") from error
    finally:
        os.close(writer_fd)
    pump = asyncio.create_task(pump_pipe(reader_fd, output))
    try:
        async with asyncio.timeout(timeout):
            status = await process.wait()
    except TimeoutError:
        await stop_group(process, grace, wrapped=wrapped)
        await _drain(pump)
        raise StepTimeoutError from None
    except asyncio.CancelledError:
        # Shielded: a second cancel must not leave the group running.
        await asyncio.shield(_stop_and_drain(process, grace, pump, wrapped=wrapped))
        raise
    # The command is done; whatever it left running in the background is stopped with it.
    await stop_group(process, grace, wrapped=wrapped)
    await _drain(pump)
    return status


async def _stop_and_drain(
    process: asyncio.subprocess.Process,
    grace: float,
    pump: asyncio.Task[None],
    *,
    wrapped: bool,
) -> None:
    await stop_group(process, grace, wrapped=wrapped)
    await _drain(pump)


async def stop_group(
    process: asyncio.subprocess.Process, grace: float, *, wrapped: bool = False
) -> None:
    """SIGTERM the process group (but its leader, when it is a `wrapped` command's
    wrapper), wait up to `grace` seconds, then SIGKILL what is left."""
    group = process.pid
    if group_alive(group):
        signal_group(group, signal.SIGTERM, spare=group if wrapped else None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while group_alive(group) and loop.time() < deadline:  # noqa: ASYNC110 -- no event exists
            await asyncio.sleep(POLL_SECONDS)
        if group_alive(group):
            signal_group(group, signal.SIGKILL)
    await process.wait()
    # SIGKILL is final, but a process in uninterruptible sleep dies only when it wakes.
    deadline = asyncio.get_running_loop().time() + KILL_WAIT_SECONDS
    while group_alive(group) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL_SECONDS)


def signal_group(group: int, signum: int, *, spare: int | None = None) -> None:
    """Signal every process of the group; but `spare`, when given (a wrapper that would
    die of the signal and take the others with it at once)."""
    try:
        if spare is None:
            os.killpg(group, signum)
        else:
            for pid in group_members(group):
                if pid != spare:
                    with contextlib.suppress(ProcessLookupError):  # it ended first
                        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # it ended first
    except PermissionError:
        # What is left of it belongs to another user (a job's `sudo`): the host's
        # administrator has to stop it.
        log.warning("process group %d: not allowed to signal what is left of it", group)


def group_alive(group: int) -> bool:
    """Whether a process of the group is still running (zombies waiting to be reaped are not)."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        # Nothing of the group is left, as after most steps: no need to read every
        # process of the host (milliseconds on the event loop, after each step).
        return False
    except PermissionError:
        pass  # some of it is another user's (a job's `sudo`): the listing says
    return bool(group_members(group))


def group_members(group: int) -> list[int]:
    """The group's running processes (zombies waiting to be reaped are not)."""
    with os.scandir("/proc") as entries:
        pids = [int(entry.name) for entry in entries if entry.name.isdigit()]
    members = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # exited while we looked
        # Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            members.append(pid)
    return members


async def _drain(pump: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(pump), DRAIN_SECONDS)
    except TimeoutError:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


async def pump_pipe(fd: int, output: LineSink) -> None:
    """Pump the read end of a pipe (closed when done) into `output`, line by line."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK, loop=loop)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), os.fdopen(fd, "rb", buffering=0)
    )
    try:
        await pump_lines(reader, output)
    finally:
        transport.close()


class ByteStream(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


async def pump_lines(stream: ByteStream, output: LineSink) -> None:
    """Pass each line of `stream` to `output`, without its newline; cut overlong lines."""
    pending = b""
    while chunk := await stream.read(CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            _emit(line, output)
        while len(pending) >= MAX_LINE:
            output(_text(pending[:MAX_LINE]))
            pending = pending[MAX_LINE:]
    if pending:
        _emit(pending, output)


def _emit(line: bytes, output: LineSink) -> None:
    """One line, in pieces of at most MAX_LINE bytes (however the chunks fell)."""
    while len(line) > MAX_LINE:
        output(_text(line[:MAX_LINE]))
        line = line[MAX_LINE:]
    output(_text(line))


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode(errors="replace")
