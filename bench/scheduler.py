"""The scheduler's own cost per event with 4,000 jobs configured, and its memory.

The configuration is config_expansion.py's: 10 projects, each expanding one job
template over 4 installers x 10 scenarios x 10 suites, so 4,000 jobs, and an event
on one project triggers that project's 400. The real `EventIntake` and `Scheduler`
(its loop running) on SQLite in WAL mode, in a file; the executor and Gerrit's REST
API are fakes that answer at once, so the time measured is crosscheck's:

- accept: `EventIntake.submit` (the duplicate check, trigger matching, the item
  written and the cursor moved, in one transaction);
- builds created: from the submit to the item's builds committed by the loop
  (the file list asked of the fake Gerrit, the jobs chosen, the build rows);
- report queued: from the submit to the item's report committed, after every
  build was started and finished (each recorded in its own transaction).

Events go one at a time, each item finished before the next event. Medians and
p95 over `--events`, after `--warmup` events; resident memory after loading the
configuration and after the events, and the peak.

    python -m bench.scheduler [--events 20] [--warmup 2]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

from sqlalchemy import func, select

from bench.config_expansion import PROJECTS, crosscheck_config
from crosscheck.config import load_config
from crosscheck.drivers.base import DriverNotFoundError, FoundPatchset
from crosscheck.events.intake import EventIntake
from crosscheck.executor.executor import BuildStarted, FinishedHook, StartedHook
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult, change_ref
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Account, Change, ChangeState, Event, PatchSet
from crosscheck.model.states import ItemState
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store import open_store, work
from crosscheck.store.tables import builds

CONNECTION = "gerrit"
ACCEPTED = "accepted (submit returned)"
PLANNED = "builds created"
REPORTED = "report queued"


class InstantExecutor:
    """Every build succeeds at once, after telling the scheduler it started."""

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
        now = time.time()
        log_url = f"{request.build_id}/"
        if on_started is not None:
            await on_started(BuildStarted(request.build_id, "bench-0", now, log_url, Path()))
        return BuildOutcome(request.build_id, BuildResult.SUCCESS, now, time.time(), log_url)


#: The files of every patchset (Gerrit's /COMMIT_MSG left out, as the driver does).
FILES = ("deploy.sh", "tests/test_api.py")


class InstantChanges:
    """Gerrit's answer for any patchset, at once: the change open, the patchset current."""

    async def change_state(
        self, project: str, number: int, revision: str, *, files: bool = True
    ) -> ChangeState:
        return ChangeState("NEW", 1, revision, FILES if files else None)

    async def revision_files(self, project: str, number: int, revision: str) -> list[str]:
        return list(FILES)

    async def find_patchset(self, number: int, patchset: int | None) -> FoundPatchset:
        raise DriverNotFoundError("the bench enqueues no change by number")


class Milestones:
    """When each change's builds and report were committed (perf_counter seconds)."""

    def __init__(self) -> None:
        self.planned: dict[int, float] = {}
        self.reported: dict[int, float] = {}
        self.change_of_item: dict[int, int] = {}
        self.changed = asyncio.Event()

    def mark(self, table: dict[int, float], change: int) -> None:
        table[change] = time.perf_counter()
        self.changed.set()

    async def wait(self, table: dict[int, float], change: int, timeout: float = 300) -> float:
        async with asyncio.timeout(timeout):
            while change not in table:
                self.changed.clear()
                await self.changed.wait()
        return table[change]


class TimedScheduler(Scheduler):
    """The real scheduler; only the end of its planning pass is timestamped."""

    milestones: Milestones

    async def _plan(self, item: work.ItemRow) -> None:
        await super()._plan(item)
        self.milestones.change_of_item[item.id] = item.change_number or 0
        self.milestones.mark(self.milestones.planned, item.change_number or 0)


class RecordingReports(ReportQueue):
    """Reports are recorded in the store as usual; `send_soon` (called once the report
    is committed) only timestamps it, since nothing is sent."""

    milestones: Milestones

    def send_soon(self, key: str) -> None:
        item_id = int(key.split("-")[1])  # item-<id>-<connection>
        change = self.milestones.change_of_item[item_id]
        self.milestones.mark(self.milestones.reported, change)


def patchset_created(number: int) -> Event:
    project = PROJECTS[number % len(PROJECTS)]
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection=CONNECTION,
        created_on=int(time.time()),
        received_at=time.time(),
        project=project,
        change=Change(project=project, branch="master", number=number),
        patchset=PatchSet(1, f"{number:040x}", change_ref(number, 1)),
        account=Account(username="dev"),
    )


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def load(directory: Path) -> Config:
    (directory / "jobs.yaml").write_text(crosscheck_config())
    result = load_config([directory / "jobs.yaml"])
    if result.config is None:
        raise SystemExit("\n".join(str(error) for error in result.errors))
    return result.config


async def run(events: int, warmup: int, scratch: Path) -> dict[str, list[float]]:
    config = load(scratch)
    print(f"{len(config.jobs):,} jobs configured; RSS {rss_mib():.0f} MiB after loading them")
    engine = await open_store(f"sqlite+aiosqlite:///{scratch / 'bench.db'}")
    milestones = Milestones()
    reports = RecordingReports(engine, {})
    reports.milestones = milestones
    scheduler = TimedScheduler(
        engine,
        lambda: config,
        executor=InstantExecutor(),
        reports=reports,
        connections=config.connections,
        changes={CONNECTION: InstantChanges()},
    )
    scheduler.milestones = milestones
    intake = EventIntake(engine, scheduler.accept, on_committed=scheduler.wake)
    loop = asyncio.create_task(scheduler.run())
    times: dict[str, list[float]] = {ACCEPTED: [], PLANNED: [], REPORTED: []}
    try:
        for number in range(1, warmup + events + 1):
            began = time.perf_counter()
            await intake.submit(patchset_created(number))
            accepted = time.perf_counter()
            planned = await milestones.wait(milestones.planned, number)
            reported = await milestones.wait(milestones.reported, number)
            if number > warmup:
                times[ACCEPTED].append(accepted - began)
                times[PLANNED].append(planned - began)
                times[REPORTED].append(reported - began)
        async with engine.connect() as db:
            finished = len(await work.items_in(db, ItemState.FINISHED))
            created = await db.scalar(select(func.count()).select_from(builds))
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await engine.dispose()
    print(f"{finished} items finished with {created:,} builds")
    return times


async def main(events: int, warmup: int) -> None:
    print(f"RSS {rss_mib():.0f} MiB at start")
    with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch:
        times = await run(events, warmup, Path(scratch))
    print(f"per event, {events} events after {warmup} warm-up (one at a time):")
    for name, values in times.items():
        print(
            f"  submit -> {name:26s} median {statistics.median(values) * 1000:8.1f} ms   "
            f"p95 {p95(values) * 1000:8.1f} ms"
        )
    print(f"RSS {rss_mib():.0f} MiB after the events; peak {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.warmup))
