"""This process's builds: one task per build started, each recording how its build ended.

A waiting build starts once its not-before time (a retry's back-off) has come; a build
that ended for the infrastructure gets another attempt while its job allows; a build
whose item ended early is canceled. The tasks live in this process only: their rows
say where each build is, so after a restart `recover` re-runs what was running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck import metrics
from crosscheck.errors import said
from crosscheck.executor.executor import BuildStarted, FinishedHook, StartedHook
from crosscheck.executor.layout import served_log_url
from crosscheck.model.build import (
    SOURCE_AWAY_RETRY,
    BuildOutcome,
    BuildRequest,
    BuildResult,
    format_duration,
    retry_delay,
)
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event
from crosscheck.model.job import Job
from crosscheck.model.states import ACTIVE_ITEM_STATES, BuildState
from crosscheck.store import work
from crosscheck.store.context_codec import load_context
from crosscheck.store.event_codec import load_event

log = logging.getLogger(__name__)


class BuildRunner(Protocol):
    """What the scheduler needs of an executor (the real one, or a fake in unit tests)."""

    async def run(
        self,
        request: BuildRequest,
        *,
        on_started: StartedHook | None = None,
        on_finished: FinishedHook | None = None,
    ) -> BuildOutcome: ...

    async def recover(self, build_ids: Collection[str]) -> None: ...

    def prefetch(self, event: Event, connection: GerritConnection | None) -> None: ...


class BuildTasks:
    def __init__(
        self,
        engine: AsyncEngine,
        config: Callable[[], Config],
        executor: BuildRunner,
        connections: Mapping[str, GerritConnection],
        *,
        logs_url: str,
        wake: Callable[[], None],
        clock: Callable[[], datetime],
        jitter: Callable[[], float],
    ) -> None:
        self.engine = engine
        self.config = config
        self.executor = executor
        self.connections = connections
        self.logs_url = logs_url
        #: Runs the scheduler's next pass (a build ended, a back-off is over).
        self._wake = wake
        #: Now, and a number in [0, 1) that spreads retry delays; tests pass their own.
        self._clock = clock
        self._jitter = jitter
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: The wake-up at the next retry's not-before time, when one waits.
        self._retry_wake: asyncio.TimerHandle | None = None

    @property
    def tasks(self) -> Mapping[str, asyncio.Task[None]]:
        """The build tasks of this process by build id, until each ends: what a test
        awaits to let the scheduler settle without sleeping."""
        return MappingProxyType(self._tasks)

    async def start_waiting(self) -> None:
        """Start the waiting builds whose not-before time has come; wake up for the next."""
        now = self._clock()
        async with self.engine.connect() as db:
            due = await work.due_builds(db, now)
            later = await work.next_not_before(db, now)
        self._wake_at(later, now)
        for build in due:
            if build.id not in self._tasks:
                task = asyncio.create_task(self._run(build))
                self._tasks[build.id] = task
                task.add_done_callback(self._forget(build.id))

    async def cancel_ended(self) -> None:
        """Cancel the tasks of builds canceled in the store (their item ended early)."""
        if not self._tasks:
            return
        async with self.engine.connect() as db:
            canceled = await work.canceled_among(db, list(self._tasks))
        for build_id in canceled:
            task = self._tasks.get(build_id)
            # A build canceled by an earlier pass may still be ending (its process's
            # kill grace): cancelled again, it would cut that short and log it twice.
            if task is not None and not task.cancelling():
                log.info("build %s: canceled", build_id)
                task.cancel()

    async def stop(self) -> None:
        """Cancel this process's builds; their rows stay `running`, so the next start
        re-runs them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def recover(self) -> None:
        """After a restart: builds that were running when the last process died run again,
        once what they left on the nodes is stopped."""
        async with self.engine.connect() as db:
            running = await work.builds_in(db, BuildState.RUNNING)
        if not running:
            return
        try:
            await self.executor.recover([build.id for build in running])
        except Exception:  # a failed clean-up must not keep the scheduler from starting
            log.exception("scheduler: clearing what interrupted builds left failed")
        async with self.engine.begin() as db:
            for build in running:
                await self._interrupted(db, build)
        log.warning("scheduler: %d build(s) interrupted by a restart run again", len(running))

    async def _interrupted(self, db: AsyncConnection, build: work.BuildRow) -> None:
        """Mark one build interrupted and queue its next attempt; unless it ended while its
        leftovers were stopped (its item superseded or dequeued meanwhile)."""
        if not await work.interrupt_build(db, build.id):
            return
        # Not the infrastructure's fault: the process stopped, so the next attempt runs at once.
        if not await self._retry(db, build, "interrupted by a restart", backoff=False):
            detail = f"interrupted by restarts {build.attempt} time(s)"
            await work.give_up_build(db, build.id, detail)

    def _wake_at(self, when: datetime | None, now: datetime) -> None:
        """Wake the loop when a backed-off build may start (the tick may be long)."""
        if self._retry_wake is not None:
            self._retry_wake.cancel()
            self._retry_wake = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            delay = max(0.0, (when - now).total_seconds())
            self._retry_wake = asyncio.get_running_loop().call_later(delay, self._wake)

    def _forget(self, build_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(build_id, None)

        return forget

    async def _run(self, build: work.BuildRow) -> None:
        async with self.engine.connect() as db:
            item = await work.item(db, build.item_id)
        job = self._job_named(item, build.job)
        if job is None:
            detail = f"job {build.job!r} is no longer configured"
            await self._fail(build, item.pipeline, BuildResult.ERROR, detail)
            return
        request = BuildRequest(
            build_id=build.id,
            attempt=build.attempt,
            pipeline=item.pipeline,
            job=job,
            event=load_event(item.event),
            connection=self.connections.get(item.connection),
            connections=self.connections,
            context=load_context(item.context),
        )
        recorded = False

        async def finished(outcome: BuildOutcome) -> None:
            # Recorded before the executor closes the console and removes the work
            # directory (a large checkout takes a tenth of a second): the item's report
            # need not wait for the clean-up. A canceled build's row is its canceller's:
            # an ended item has already canceled it, a stopping serve leaves it running.
            nonlocal recorded
            if outcome.result is not BuildResult.CANCELED:
                recorded = True
                await self._finished(build, item.pipeline, outcome)

        try:
            outcome = await self.executor.run(
                request, on_started=self._started, on_finished=finished
            )
        except Exception as error:  # a bug, a full disk: the build ends, never stays running
            log.exception("build %s failed inside crosscheck", build.id)
            if not recorded:
                await self._fail(
                    build, item.pipeline, BuildResult.ERROR, f"crosscheck failed: {said(error)}"
                )
            return
        if not recorded:
            await self._finished(build, item.pipeline, outcome)

    def _job_named(self, item: work.ItemRow, name: str) -> Job | None:
        config = self.config()
        for job in config.jobs_for(item.project, item.connection, item.pipeline):
            if job.name == name:
                return job
        return config.jobs.get(name)

    async def _started(self, started: BuildStarted) -> None:
        async with self.engine.begin() as db:
            await work.start_build(db, started.build_id, started.node, started.log_url)
        log.info(
            "build %s started on %s: %s",
            started.build_id,
            started.node,
            served_log_url(self.logs_url, started.log_url) or started.log_url,
        )

    async def _finished(self, build: work.BuildRow, pipeline: str, outcome: BuildOutcome) -> None:
        async with self.engine.begin() as db:
            ended = await work.finish_build(db, build.id, outcome)
            # A build canceled meanwhile keeps its row as it is, and is no retry.
            if ended and outcome.result.retryable:
                why = outcome.detail or outcome.result.value
                if outcome.source_away:
                    await self._await_source(db, build, why)
                else:
                    await self._retry(db, build, why, result=outcome.result)
        if ended:
            metrics.builds_finished.labels(pipeline, outcome.result.value).inc()
            log.info(
                "build %s (%s, attempt %d) finished: %s in %s%s",
                build.id,
                build.job,
                build.attempt,
                outcome.result.value,
                format_duration(outcome.duration),
                f" ({outcome.detail})" if outcome.detail else "",
            )
        self._wake()

    async def _fail(
        self, build: work.BuildRow, pipeline: str, result: BuildResult, detail: str
    ) -> None:
        """End a build that cannot run; unless it was canceled meanwhile."""
        async with self.engine.begin() as db:
            ended = await work.fail_build(db, build.id, result, detail)
        if ended:
            metrics.builds_finished.labels(pipeline, result.value).inc()
        self._wake()

    async def _await_source(self, db: AsyncConnection, build: work.BuildRow, why: str) -> None:
        """A build that could not fetch its workspace because Gerrit was away is tried again
        every minute at most, for as long as its item's report would wait for Gerrit
        (`report_give_up_after`), whatever the job's `attempts`: an outage is neither the
        build's fault nor the change's, and must not leave the change without a vote."""
        item = await work.item(db, build.item_id)
        if item.state not in ACTIVE_ITEM_STATES:
            return
        waited = (self._clock() - item.created_at).total_seconds()  # UtcDateTime: aware
        left = self.config().ci.report_give_up_after - waited
        if left <= 0:
            log.warning(
                "build %s (%s): Gerrit still away %.0f s after the change came (%s): given "
                "up, as its report would be (report_give_up_after)",
                build.id, build.job, waited, why,
            )  # fmt: skip
            return
        delay = min(retry_delay(build.attempt, self._jitter()), SOURCE_AWAY_RETRY, left)
        not_before = self._clock() + timedelta(seconds=delay)
        await work.add_builds(
            db, item.id, [(build.job, build.voting)], build.attempt + 1, not_before
        )
        # The first and every tenth said at WARNING, as a report's failed attempts: a day
        # of outage is not 1,440 warnings per build.
        tries = await work.source_away_attempts(db, item.id, build.job)
        level = logging.WARNING if tries == 1 or tries % 10 == 0 else logging.DEBUG
        log.log(
            level,
            "build %s (%s): Gerrit is away (%s): tried again in %.0f s, until it is back "
            "(%d tries so far)",
            build.id, build.job, why, delay, tries,
        )  # fmt: skip

    async def _retry(
        self,
        db: AsyncConnection,
        build: work.BuildRow,
        why: str,
        *,
        backoff: bool = True,
        result: BuildResult = BuildResult.ERROR,
    ) -> bool:
        """Queue the next attempt of a build that ended for the infrastructure, if the job
        allows another; whether it did. With `backoff` it waits as `retry_delay` says for
        `result` (30 s, 2 min, then 5 min, jittered; a first lost node none): what was
        unreachable a moment ago rarely is back at once."""
        item = await work.item(db, build.item_id)
        job = self._job_named(item, build.job)
        # Attempts that found Gerrit away were not the build's: not counted.
        away = await work.source_away_attempts(db, item.id, build.job)
        limit = (job.attempts if job else 1) + away
        if item.state not in ACTIVE_ITEM_STATES or build.attempt >= limit:
            if item.state in ACTIVE_ITEM_STATES:
                log.warning(
                    "build %s (%s) ended for the infrastructure (%s) on its last attempt (%d)",
                    build.id,
                    build.job,
                    why,
                    build.attempt,
                )
            return False
        delay = retry_delay(build.attempt, self._jitter(), result) if backoff else 0.0
        not_before = self._clock() + timedelta(seconds=delay) if delay else None
        next_attempt = build.attempt + 1
        await work.add_builds(db, item.id, [(build.job, build.voting)], next_attempt, not_before)
        log.info(
            "build %s (%s) ended for the infrastructure (%s): attempt %d in %.0f s",
            build.id,
            build.job,
            why,
            next_attempt,
            delay,
        )
        return True
