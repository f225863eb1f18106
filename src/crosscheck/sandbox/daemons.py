"""Background processes found again by pid: identify, reap, stop, ask whether they answer.

A pid is trusted only while `/proc/<pid>/cmdline` holds the markers the process was
started with (a site directory, a database URL), so a recycled pid is never signalled.
The sandbox's Gerrit and the demo's `crosscheck serve` are both kept this way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

#: Seconds a process may take to disappear after SIGKILL.
KILL_WAIT = 10.0


def is_ours(pid: int | None, markers: Sequence[str]) -> bool:
    """True when `pid` is alive and its command line holds every one of `markers`."""
    if pid is None or not markers:
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    # A zombie's command line is empty: it is gone as far as anyone can tell.
    return all(marker in args for marker in markers)


def reaped(pid: int) -> bool:
    """Collect the exit status when `pid` is our own child, so it leaves no zombie."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return finished == pid


def gone(pid: int) -> bool:
    """The process has exited and released everything (its ports, its files): it is
    reaped, or a zombie. An exiting process loses its command line before its files."""
    if reaped(pid):
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    if state not in ("Z", "X"):
        return False
    # It may have exited just after the first look: a child of ours is collected now.
    reaped(pid)
    return True


def stop(pid: int, markers: Sequence[str], timeout: float) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; whether it is gone (False: it outlived
    SIGKILL by KILL_WAIT seconds). A pid that is not ours is left alone."""
    if not is_ours(pid, markers):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return True
    if is_ours(pid, markers):  # still ours: not exiting already, nor a recycled pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return _wait_gone(pid, KILL_WAIT)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


async def answers(url: str, timeout: float = 2.0) -> bool:
    """True when a GET of `url` answers 200 OK."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return False
    return response.status_code == httpx.codes.OK
