"""Killing the processes of a host at once, the way a machine losing power would."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from crosscheck.sandbox.daemons import KILL_WAIT


def command_name(pid: int) -> str:
    """The kernel's short name of a process (`sshd`, `sshd-session`); "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def command_line(pid: int) -> list[str]:
    """The words of a process's command line. sshd rewrites its own into one string with
    spaces (`sshd: /usr/sbin/sshd -D -f ... [listener]`), so split on those too."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").replace("\0", " ").split()


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie. Never reaps: a zombie may be a child of
    the caller's, whose exit status is the caller's to collect."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in {"Z", "X"}


def all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def kill(pids: Iterable[int]) -> list[int]:
    """SIGKILL every one of `pids`; those still there after KILL_WAIT seconds."""
    targets = list(pids)
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT
    while True:
        alive = [pid for pid in targets if not gone(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)
