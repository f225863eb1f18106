"""A fake executor for scheduler tests, and a way to let the scheduler settle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping
from pathlib import Path

from crosscheck.executor.executor import BuildStarted, StartedHook
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult
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


async def settle(scheduler: Scheduler, rounds: int = 5) -> None:
    for _ in range(rounds):
        await scheduler.reconcile()
        await asyncio.sleep(0.01)
        # On a loaded machine a build takes more than a sleep to end: give the
        # running ones (held ones aside, which never end) a moment to.
        tasks = list(scheduler._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
