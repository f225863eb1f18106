"""A fake executor and a fake change source for scheduler tests, and a way to let the
scheduler settle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping
from pathlib import Path

from crosscheck.drivers.base import DriverNotFoundError, FoundPatchset
from crosscheck.drivers.gerrit.errors import GerritUnreachableError
from crosscheck.executor.executor import BuildStarted, StartedHook
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult
from crosscheck.model.events import ChangeState
from crosscheck.scheduler.scheduler import Scheduler


class FakeExecutor:
    """Builds end as scripted per job; a job in `hold` waits until released."""

    def __init__(self, results: Mapping[str, BuildResult]) -> None:
        self.results = dict(results)
        self.hold: set[str] = set()
        self.release = asyncio.Event()
        self.requests: list[BuildRequest] = []
        self.canceled: list[str] = []
        self.recovered: list[list[str]] = []

    async def recover(self, build_ids: Collection[str]) -> None:
        self.recovered.append(sorted(build_ids))

    async def run(
        self, request: BuildRequest, *, on_started: StartedHook | None = None
    ) -> BuildOutcome:
        self.requests.append(request)
        started = time.time()
        log_url = f"{request.build_id}/"
        if on_started:
            await on_started(BuildStarted(request.build_id, "local-0", started, log_url, Path()))
        try:
            if request.job.name in self.hold:
                await self.release.wait()
        except asyncio.CancelledError:
            self.canceled.append(request.build_id)
            raise
        result = self.results.get(request.job.name, BuildResult.SUCCESS)
        return BuildOutcome(request.build_id, result, started, started + 62, log_url)


class FakeChanges:
    """A ChangeSource: every change is open and every revision asked about is current,
    with `files`, unless `status` or `current` (change -> (patchset, revision)) say
    otherwise; `unreachable` makes every call fail as a Gerrit down would."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.status: dict[int, str] = {}
        self.current: dict[int, tuple[int, str]] = {}
        self.unreachable = False
        self.asked: list[tuple[int, str]] = []
        self.found: dict[int, FoundPatchset] = {}

    async def change_state(self, project: str, number: int, revision: str) -> ChangeState:
        self.asked.append((number, revision))
        if self.unreachable:
            raise GerritUnreachableError("Gerrit is down (fake)")
        patchset, current = self.current.get(number, (0, revision))
        files = tuple(self.files) if current == revision else None
        return ChangeState(self.status.get(number, "NEW"), patchset, current, files)

    async def revision_files(self, project: str, number: int, revision: str) -> list[str]:
        return list(self.files)

    async def find_patchset(self, number: int, patchset: int | None) -> FoundPatchset:
        """Only what `found` holds: the scheduler never looks changes up by number."""
        if number not in self.found:
            raise DriverNotFoundError(f"change {number} (fake)")
        return self.found[number]


async def settle(scheduler: Scheduler, rounds: int = 5) -> None:
    for _ in range(rounds):
        await scheduler.reconcile()
        await asyncio.sleep(0.01)
        # On a loaded machine a build takes more than a sleep to end: give the
        # running ones (held ones aside, which never end) a moment to.
        tasks = list(scheduler.builds.tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
