"""An idle `crosscheck serve`: CPU seconds per minute, resident memory, wake-ups.

`crosscheck serve` runs the sandbox's example CI (examples/sandbox-ci plus the
sandbox's connection.yaml) against a sandbox Gerrit, and nothing happens: no push,
no request. The serve measured is the second started on its store (the first made
it, as a serve restarts on its store). After `--settle` seconds (start-up, the stream
connected, catch-up done), each round of `--seconds` reads, from /proc, the CPU time
the process used (user + system, its threads included), how often its threads were
scheduled in (wake-ups), and its resident memory at the end; and, from /metrics, how
many passes the scheduler ran. Medians over `--rounds`, each figure per idle minute.

For reference only, issue 18's figures for an idle Buildbot master and worker (0.01 s of
CPU per minute, 88.4 MiB), not measured here: `python -m bench.peers.buildbot` measures
Buildbot beside crosscheck in one run, the comparison to quote.

    python -m bench.idle [--seconds 60] [--rounds 1] [--settle 15] [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.e2e.ci_loop_harness import ServeProcess

from bench.peers.proctree import on_cpu_seconds, wakeups
from crosscheck.sandbox.gerrit import Sandbox, SandboxState

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sandbox-ci"
BUILDBOT_CPU_PER_MINUTE = 0.01
BUILDBOT_RSS_MIB = 88.4
PASSES = re.compile(r"^crosscheck_scheduler_passes_total (\S+)$", re.MULTILINE)


@dataclass
class Snapshot:
    """What /proc and /metrics say of the serve at one moment."""

    at: float
    cpu_seconds: float
    #: Time on a CPU of every thread, from schedstat, to the nanosecond.
    on_cpu_seconds: float
    wakeups: int
    rss_mib: float
    passes: float | None


@dataclass
class Rounds:
    cpu_per_minute: list[float] = field(default_factory=list)
    on_cpu_per_minute: list[float] = field(default_factory=list)
    wakeups_per_minute: list[float] = field(default_factory=list)
    passes_per_minute: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    peak_rss_mib: float = 0.0


def write_example_config(state: SandboxState, directory: Path) -> Path:
    """The example CI as the demo runs it: its files and the sandbox's connection."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in EXAMPLE.glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    shutil.copy(state.connection_file, directory / "connection.yaml")
    return directory


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and every thread it has (clock ticks -> s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(key)


async def scheduler_passes(url: str) -> float | None:
    """The scheduler's pass counter from /metrics; None when serve does not export it."""
    async with httpx.AsyncClient(timeout=10) as client:
        found = PASSES.search((await client.get(f"{url}/metrics")).text)
    return float(found.group(1)) if found else None


async def answering(serve: ServeProcess, timeout: float = 60) -> None:
    """Until the serve's web server answers: the service is built, its parts starting."""
    deadline = time.monotonic() + timeout
    while True:
        serve.require_alive()
        try:
            await scheduler_passes(serve.url)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def snapshot(serve: ServeProcess) -> Snapshot:
    assert serve.process is not None
    pid = serve.process.pid
    # The scrape first: its own CPU and wake-ups fall before the window's reading.
    passes = await scheduler_passes(serve.url)
    return Snapshot(
        time.monotonic(),
        cpu_seconds(pid),
        on_cpu_seconds([pid]),
        wakeups([pid]),
        status_mib(pid, "VmRSS"),
        passes,
    )


async def measure(
    state: SandboxState, scratch: Path, seconds: float, rounds: int, settle: float
) -> Rounds:
    config = write_example_config(state, scratch / "config")
    serve = ServeProcess(config, scratch / "serve")
    # A first start makes and migrates the store; the one measured is the next, as a
    # serve restarts on its store (a migration's code is then never imported).
    serve.start()
    try:
        await serve.ready()
    finally:
        serve.stop()
    serve.start()
    try:
        await answering(serve)  # its cursor is the first start's: the web server says
        await asyncio.sleep(settle)
        found = Rounds()
        before = await snapshot(serve)
        for _ in range(rounds):
            await asyncio.sleep(seconds)
            serve.require_alive()
            after = await snapshot(serve)
            _add_round(found, before, after)
            before = await snapshot(serve)  # the scrape's own cost stays out of the next
        assert serve.process is not None
        found.peak_rss_mib = status_mib(serve.process.pid, "VmHWM")
        return found
    finally:
        serve.stop()


def _add_round(found: Rounds, before: Snapshot, after: Snapshot) -> None:
    minutes = (after.at - before.at) / 60
    found.cpu_per_minute.append((after.cpu_seconds - before.cpu_seconds) / minutes)
    found.on_cpu_per_minute.append((after.on_cpu_seconds - before.on_cpu_seconds) / minutes)
    found.wakeups_per_minute.append((after.wakeups - before.wakeups) / minutes)
    if before.passes is not None and after.passes is not None:
        found.passes_per_minute.append((after.passes - before.passes) / minutes)
    found.rss_mib.append(after.rss_mib)


def report(found: Rounds, seconds: float) -> None:
    cpu = statistics.median(found.cpu_per_minute)
    rss = statistics.median(found.rss_mib)
    print(f"idle crosscheck serve, {len(found.rss_mib)} round(s) of {seconds:.0f} s (medians)")
    print(
        f"CPU: {cpu:.3f} s per idle minute "
        f"(issue 18's Buildbot figure {BUILDBOT_CPU_PER_MINUTE} s, not this run); "
        f"{1000 * statistics.median(found.on_cpu_per_minute):.1f} ms by schedstat"
    )
    print(f"RSS: {rss:.1f} MiB (peak {found.peak_rss_mib:.1f} MiB; "
          f"issue 18's Buildbot figure {BUILDBOT_RSS_MIB} MiB, not this run)")  # fmt: skip
    print(f"wake-ups: {statistics.median(found.wakeups_per_minute):.0f} per idle minute")
    if found.passes_per_minute:
        passes = statistics.median(found.passes_per_minute)
        print(f"scheduler passes: {passes:.1f} per idle minute")
    else:
        print("scheduler passes: not exported by this serve")


async def main(seconds: float, rounds: int, settle: float, state_dir: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="idle-bench-") as temporary:
        scratch = Path(temporary)
        if state_dir is not None:
            found = await measure(SandboxState.load(state_dir), scratch, seconds, rounds, settle)
        else:
            box = Sandbox(scratch / "sandbox")
            state = (await box.up()).state
            try:
                found = await measure(state, scratch, seconds, rounds, settle)
            finally:
                box.down()
    report(found, seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of one idle round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--settle", type=float, default=15, help="seconds after start-up")
    parser.add_argument("--state-dir", type=Path, help="a running sandbox to reuse")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.rounds, arguments.settle, arguments.state_dir))
