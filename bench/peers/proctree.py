"""A process and all its descendants, read from /proc: resident memory and CPU time."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses);
    field 3 of proc(5) is index 0 here."""
    return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
            except (FileNotFoundError, ProcessLookupError):  # ended while listing
                continue
    return parents


def tree(roots: Iterable[int]) -> list[int]:
    """The roots and every living descendant of theirs."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    pending = [pid for pid in roots if (PROC / str(pid)).exists()]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


@dataclass(frozen=True)
class Memory:
    """One process's memory in MiB: resident (VmRSS), and proportional (Pss: pages shared
    with other processes divided among them, so a tree's sum counts them once)."""

    name: str
    rss_mib: float
    pss_mib: float


def memory_of(pids: Iterable[int]) -> list[Memory]:
    """Each living process's command name (comm) and memory."""
    found = []
    for pid in pids:
        try:
            name = (PROC / str(pid) / "comm").read_text().strip()
            rollup = (PROC / str(pid) / "smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(Memory(name, _kib(rollup, "Rss") / 1024, _kib(rollup, "Pss") / 1024))
    return found


def _kib(rollup: str, key: str) -> int:
    """A `Key: N kB` line's N; 0 when missing (a zombie has no mappings)."""
    values = [line.split()[1] for line in rollup.splitlines() if line.startswith(f"{key}:")]
    return int(values[0]) if values else 0


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system time of the processes, with that of their children already reaped
    (cutime + cstime): a short ssh or shell child that ended in the window still counts."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        # proc(5) fields 14-17: utime, stime, cutime, cstime.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid: int) -> float:
    """User + system time of the process itself, its children left out."""
    return sum(int(value) for value in _stat_fields(pid)[11:13]) / os.sysconf("SC_CLK_TCK")


def on_cpu_seconds(pids: Iterable[int]) -> float:
    """Time on a CPU of every thread of the processes, to the nanosecond (schedstat's first
    number, per thread): where clock ticks of 10 ms read an idle minute as 0 or 0.01 s.
    A process that started and ended between two readings is in neither: cpu_seconds
    counts it (its parent reaped it)."""
    return _schedstat(pids, 0) / 1e9


def wakeups(pids: Iterable[int]) -> int:
    """Times any thread of the processes was scheduled in (schedstat's third number)."""
    return _schedstat(pids, 2)


def _schedstat(pids: Iterable[int], index: int) -> int:
    """One of schedstat's numbers, summed over every thread of the processes."""
    total = 0
    for pid in pids:
        try:
            tasks = list((PROC / str(pid) / "task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[index])
            except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
                continue
    return total
