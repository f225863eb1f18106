"""A fake executor and a fake change source for scheduler tests, and a way to let the
scheduler settle without sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection, Mapping
from pathlib import Path

from crosscheck.drivers.base import DriverNotFoundError, FoundPatchset
from crosscheck.drivers.gerrit.errors import GerritUnreachableError
from crosscheck.executor.executor import BuildStarted, FinishedHook, StartedHook
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import ChangeState, Event
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
        #: The events of the items planned, each fetched ahead of its builds.
        self.prefetched: list[Event] = []
        #: The builds waiting for `release` now, and a signal each time one starts to.
        self.holding: set[str] = set()
        self.held = asyncio.Event()

    def holds(self, build_id: str) -> bool:
        """Whether the build is held: running, and ending only once released."""
        return build_id in self.holding and not self.release.is_set()

    async def recover(self, build_ids: Collection[str]) -> None:
        self.recovered.append(sorted(build_ids))

    def outcome_of(self, request: BuildRequest, started: float, log_url: str) -> BuildOutcome:
        result = self.results.get(request.job.name, BuildResult.SUCCESS)
        return BuildOutcome(request.build_id, result, started, started + 62, log_url)

    def prefetch(self, event: Event, connection: GerritConnection | None) -> None:
        self.prefetched.append(event)

    async def run(
        self,
        request: BuildRequest,
        *,
        on_started: StartedHook | None = None,
        on_finished: FinishedHook | None = None,
    ) -> BuildOutcome:
        self.requests.append(request)
        started = time.time()
        log_url = f"{request.build_id}/"
        if on_started:
            await on_started(BuildStarted(request.build_id, "local-0", started, log_url, Path()))
        try:
            if request.job.name in self.hold:
                self.holding.add(request.build_id)
                self.held.set()
                await self.release.wait()
        except asyncio.CancelledError:
            self.canceled.append(request.build_id)
            # As the real executor does: the hook hears of the cancel before it spreads.
            if on_finished is not None:
                ended = BuildOutcome(
                    request.build_id, BuildResult.CANCELED, started, started, log_url
                )
                await asyncio.shield(on_finished(ended))
            raise
        finally:
            self.holding.discard(request.build_id)
        outcome = self.outcome_of(request, started, log_url)
        if on_finished is not None:
            await on_finished(outcome)
        return outcome


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
        #: Whether each ask wanted the files too.
        self.files_asked: list[bool] = []
        self.found: dict[int, FoundPatchset] = {}

    async def change_state(
        self, project: str, number: int, revision: str, *, files: bool = True
    ) -> ChangeState:
        self.asked.append((number, revision))
        self.files_asked.append(files)
        if self.unreachable:
            raise GerritUnreachableError("Gerrit is down (fake)")
        patchset, current = self.current.get(number, (0, revision))
        listed = tuple(self.files) if files and current == revision else None
        return ChangeState(self.status.get(number, "NEW"), patchset, current, listed)

    async def revision_files(self, project: str, number: int, revision: str) -> list[str]:
        return list(self.files)

    async def find_patchset(self, number: int, patchset: int | None) -> FoundPatchset:
        """Only what `found` holds: the scheduler never looks changes up by number."""
        if number not in self.found:
            raise DriverNotFoundError(f"change {number} (fake)")
        return self.found[number]


#: Only a bug leaves a build task neither ending nor held: then fail, rather than hang.
HANG = 60.0


async def settle(scheduler: Scheduler, rounds: int = 5) -> None:
    """`rounds` passes of the scheduler, each followed by its builds running to their
    end or their hold: no sleep, so a loaded machine only makes it slower."""
    for _ in range(rounds):
        await scheduler.reconcile()
        await builds_quiet(scheduler)


async def builds_quiet(scheduler: Scheduler) -> None:
    """Until every build task started so far has ended or is held by the fake executor
    (a held one being canceled is awaited: it ends)."""
    executor = scheduler.executor
    fake = executor if isinstance(executor, FakeExecutor) else None
    held = fake.held if fake else asyncio.Event()
    async with asyncio.timeout(HANG):
        while True:
            held.clear()
            busy = [
                task
                for build_id, task in scheduler.builds.tasks.items()
                if not task.done() and (task.cancelling() or not (fake and fake.holds(build_id)))
            ]
            if not busy:
                return
            # Wakes when a build ends, or when one starts to hold (and never will end).
            new_hold = asyncio.ensure_future(held.wait())
            try:
                await asyncio.wait([*busy, new_hold], return_when=asyncio.FIRST_COMPLETED)
            finally:
                new_hold.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await new_hold
