"""The timer's fan-out: one scheduled time of a pipeline over many projects.

A `^regex` project entry matches N projects (default 1,000) of a fake Gerrit that
answers each call after a fixed latency (default 20 ms; the timer keeps 8 calls
in flight). A pass lists the projects, asks each one's HEAD branch, and submits
N events through the real intake and the scheduler's `accept` into SQLite, which
writes N items. Prints medians over the rounds: the whole pass, the part spent
asking Gerrit, and events submitted per second.

    python -m bench.timer [--projects 1000] [--latency 0.02] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

from crosscheck.config.loader import load_config
from crosscheck.drivers.timer.branches import BranchResolver
from crosscheck.drivers.timer.source import TimerEventSource
from crosscheck.drivers.timer.targets import targets
from crosscheck.events.intake import EventIntake
from crosscheck.executor.executor import FinishedHook, StartedHook
from crosscheck.model.build import BuildOutcome, BuildRequest
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store import open_store

CONFIG = """
- connection: {name: review, host: h, user: ci, http_url: "https://h/"}
- label: {name: local}
- job: {name: deploy, node: local, run: [make deploy]}
- pipeline:
    name: daily
    manager: supercedent
    trigger: {timer: [{time: "0 2 * * *"}]}
- project: {name: "^bench/.*", daily: {jobs: [deploy]}}
"""
#: 2026-03-10 02:00:00 UTC, the scheduled time every round fires.
TICK = 1_773_108_000.0


class SlowGerrit:
    """Projects bench/p0000...; every call answers after `latency` seconds."""

    def __init__(self, projects: int, latency: float) -> None:
        self.names = [f"bench/p{index:04d}" for index in range(projects)]
        self.latency = latency

    async def projects(self) -> list[str]:
        await asyncio.sleep(self.latency)
        return list(self.names)

    async def head_branch(self, project: str) -> str:
        await asyncio.sleep(self.latency)
        return "master"

    async def branches(self, project: str) -> list[str]:
        await asyncio.sleep(self.latency)
        return ["master"]


class NoBuilds:
    """The bench stops at items: nothing is planned or run."""

    async def recover(self, build_ids: Collection[str]) -> None:
        pass  # nothing was running before the bench

    def prefetch(self, event: Event, connection: GerritConnection | None) -> None:
        pass  # no mirror to fill

    async def run(
        self,
        request: BuildRequest,
        *,
        on_started: StartedHook | None = None,
        on_finished: FinishedHook | None = None,
    ) -> BuildOutcome:
        raise RuntimeError("the timer bench runs no build")


class Clock:
    def __init__(self, now: float) -> None:
        self.time = now

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += seconds


def load(directory: Path) -> Config:
    path = directory / "ci.yaml"
    path.write_text(CONFIG)
    config = load_config([path]).config
    if config is None:
        raise SystemExit("the bench configuration does not load")
    return config


async def one_round(directory: Path, config: Config, gerrit: SlowGerrit) -> tuple[float, float]:
    """(seconds for the whole pass, seconds spent asking Gerrit) on a fresh store."""
    engine = await open_store(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
    try:
        scheduler = Scheduler(
            engine,
            lambda: config,
            executor=NoBuilds(),
            reports=ReportQueue(engine, {}),
            connections=config.connections,
        )
        clock = Clock(TICK - 1)
        timer = TimerEventSource(
            EventIntake(engine, scheduler.accept), lambda: config, {"review": gerrit}, clock=clock
        )
        await timer.start()
        clock.time = TICK + 1
        began = time.perf_counter()
        await timer.fire_due()
        whole = time.perf_counter() - began
        found, _ = targets(config, "daily")
        began = time.perf_counter()
        await BranchResolver({"review": gerrit}).resolve(found, ())
        asking = time.perf_counter() - began
    finally:
        await engine.dispose()
    return whole, asking


async def main(projects: int, latency: float, rounds: int) -> None:
    gerrit = SlowGerrit(projects, latency)
    wholes, askings = [], []
    for index in range(rounds):
        with tempfile.TemporaryDirectory(prefix="crosscheck-bench-timer-") as scratch:
            directory = Path(scratch)
            whole, asking = await one_round(directory, load(directory), gerrit)
        wholes.append(whole)
        askings.append(asking)
        print(f"round {index + 1}: pass {whole:.2f} s, asking Gerrit {asking:.2f} s")
    whole, asking = statistics.median(wholes), statistics.median(askings)
    print(
        f"{projects} projects, {latency * 1000:.0f} ms per Gerrit call, {rounds} rounds "
        f"(medians): pass {whole:.2f} s, of which asking Gerrit {asking:.2f} s; "
        f"{projects / max(whole - asking, 1e-9):.0f} events/s through intake and scheduler"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.projects, arguments.latency, arguments.rounds))
