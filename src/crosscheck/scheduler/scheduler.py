"""The scheduler loop: items become builds on the executor, and finished items one report.

Events arrive through `accept`, the intake's sink, inside the intake's transaction:
an event is recorded as seen only together with the items it enqueued. Everything
else happens in `run`, a loop that reconciles the database with what is running in
this process, once a second or when woken. Because every step reads its work from
the database, a restart (even after `kill -9`) resumes where the last one stopped:
builds found running are re-run with their attempt counted, items whose builds are
done get their report, and a report is queued under a key unique to the item, so
it is never sent twice. The item's job results for a results service are queued in
the same transaction, under a key of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck import metrics
from crosscheck.drivers.base import ChangeSource, DriverError, DriverNotFoundError
from crosscheck.executor.executor import BuildStarted, StartedHook
from crosscheck.executor.layout import served_log_url
from crosscheck.model.build import (
    BuildOutcome,
    BuildRequest,
    BuildResult,
    format_duration,
    retry_delay,
)
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import ChangeState, Event, EventType, Origin
from crosscheck.model.job import Job
from crosscheck.model.pipeline import Manager, Pipeline
from crosscheck.model.report import RESULTS_SERVICE, JobLine, Report, report_tag
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler import queue
from crosscheck.scheduler.codec import load_event
from crosscheck.scheduler.message import (
    VERDICTS,
    Outcome,
    decide,
    item_message,
    item_outcome,
    reporters,
    start_message,
)
from crosscheck.scheduler.triggers import (
    OLD_PATCHSET,
    OWN_ACCOUNT,
    SKIPPED_STATE,
    ignored_reason,
    triggered,
)
from crosscheck.store.tables import builds

log = logging.getLogger(__name__)


class BuildRunner(Protocol):
    """What the scheduler needs of an executor (the real one, or a fake in unit tests)."""

    async def run(
        self, request: BuildRequest, *, on_started: StartedHook | None = None
    ) -> BuildOutcome: ...

    async def recover(self, build_ids: Collection[str]) -> None: ...


#: Events that end a change's items: no build of a closed change is worth finishing.
CLOSING_EVENTS = {EventType.CHANGE_ABANDONED: "abandoned", EventType.CHANGE_MERGED: "merged"}


class Scheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        config: Callable[[], Config],
        *,
        executor: BuildRunner,
        reports: ReportQueue,
        connections: Mapping[str, GerritConnection],
        changes: Mapping[str, ChangeSource] | None = None,
        logs_url: str = "",
        tick: float = 1.0,
        results: ReportQueue | None = None,
        clock: Callable[[], datetime] = queue.now,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.config = config
        self.executor = executor
        self.reports = reports
        #: The queue of job results for a results service; None: they are not reported.
        self.results = results
        self.connections = connections
        #: Where `_plan` asks whether a change is still worth building, and operator
        #: enqueues look a change up, per connection.
        self.changes: Mapping[str, ChangeSource] = changes or {}
        self.logs_url = logs_url.rstrip("/")
        self.tick = tick
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        #: Now, and a number in [0, 1) that spreads retry delays; tests pass their own.
        self._clock = clock
        self._jitter = jitter
        #: The wake-up at the next retry's not-before time, when one waits.
        self._retry_wake: asyncio.TimerHandle | None = None

    # -- events in -------------------------------------------------------------

    async def accept(self, event: Event, db: AsyncConnection) -> None:
        """The intake's sink: end a closed change's items, then enqueue an item in every
        pipeline the event triggers. The event is recorded as seen whatever happens here,
        ignored or not, so its cursor moves on."""
        await self._end_closed_change(event, db)
        config = self.config()
        found = triggered(config, event)
        pipelines, skipped = found.pipelines, found.skipped
        if not pipelines and not skipped:
            return
        reason = ignored_reason(config.connections.get(event.connection), event)
        if reason is not None:
            self._ignored(event, reason, f"{_what(event)}: not enqueued ({reason})")
            return
        for pipeline, why in skipped:
            self._ignored(
                event, SKIPPED_STATE, f"{_what(event)}: not enqueued in {pipeline.name} ({why})"
            )
        newest: int | None = None
        for pipeline in pipelines:
            if pipeline.current_patchset_only and event.change and event.patchset:
                if newest is None:
                    newest = (
                        await queue.newest_patchset(
                            db, event.connection, event.project or "", event.change.number
                        )
                        or 0
                    )
                if newest > event.patchset.number:
                    self._ignored(
                        event,
                        OLD_PATCHSET,
                        f"{_what(event)}: not enqueued in {pipeline.name}: patchset "
                        f"{event.patchset.number} is no longer current (patchset {newest} is)",
                    )
                    continue
            await self._enqueue(pipeline, event, db)

    async def _enqueue(self, pipeline: Pipeline, event: Event, db: AsyncConnection) -> None:
        item_id = await queue.enqueue_item(db, pipeline, event)
        if item_id is None:
            log.info("%s: %s already queued in %s", event.connection, _what(event), pipeline.name)
        else:
            log.info(
                "%s: item %d for %s in %s", event.connection, item_id, _what(event), pipeline.name
            )

    def _ignored(self, event: Event, reason: str, message: str) -> None:
        metrics.events_ignored.labels(event.connection, reason).inc()
        # The CI's own messages come with every report: at INFO they would be noise.
        log.log(logging.DEBUG if reason == OWN_ACCOUNT else logging.INFO, "%s", message)

    async def _end_closed_change(self, event: Event, db: AsyncConnection) -> None:
        """An abandoned or merged change's items end in every pipeline, their builds
        canceled and nothing reported; in `db`, so they end with the event's record.
        The items the merge itself enqueues (a post pipeline's) come after this."""
        how = CLOSING_EVENTS.get(EventType(event.type)) if event.known else None
        if how is None or event.change is None:
            return
        detail = f"change {how}"
        number = event.change.number
        for ended in await queue.end_change(db, event.connection, number, "dequeued", detail):
            if ended.canceled:
                canceled = metrics.builds_finished.labels(ended.pipeline, BuildResult.CANCELED)
                canceled.inc(ended.canceled)
            log.info(
                "change %d %s: item %d (%s) dequeued, %d build(s) canceled",
                number,
                how,
                ended.id,
                ended.pipeline,
                ended.canceled,
            )

    def wake(self) -> None:
        """Run a pass now. Call it once what the pass must see is committed (the intake
        after `accept`'s transaction, the operator after its writes): woken from inside a
        transaction, the loop could read before the commit, find nothing new, and sleep a
        whole tick with the item waiting."""
        self._wake.set()

    # -- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        await self.recover()
        try:
            while True:
                try:
                    await self.reconcile()
                except Exception:
                    log.exception("scheduler: a pass failed; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.tick)
                self._wake.clear()
        finally:
            await self.stop_builds()

    async def stop_builds(self) -> None:
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
            rows = (await db.execute(select(builds).where(builds.c.state == "running"))).all()
        if not rows:
            return
        try:
            await self.executor.recover([row.id for row in rows])
        except Exception:  # a failed clean-up must not keep the scheduler from starting
            log.exception("scheduler: clearing what interrupted builds left failed")
        async with self.engine.begin() as db:
            for row in rows:
                await self._interrupted(db, row)
        log.warning("scheduler: %d build(s) interrupted by a restart run again", len(rows))

    async def _interrupted(self, db: AsyncConnection, row: Any) -> None:
        """Mark one build interrupted and queue its next attempt; unless it ended while its
        leftovers were stopped (its item superseded or dequeued meanwhile)."""
        marked = await db.execute(
            update(builds)
            .where(builds.c.id == row.id)
            .where(builds.c.state == "running")
            .values(state="interrupted", result="INTERRUPTED", finished_at=queue.now())
        )
        if not marked.rowcount:
            return
        # Not the infrastructure's fault: the process stopped, so the next attempt runs at once.
        if not await self._retry(db, row, "interrupted by a restart", backoff=False):
            await db.execute(
                update(builds)
                .where(builds.c.id == row.id)
                .values(
                    state="finished",
                    result=BuildResult.ERROR.value,
                    detail=f"interrupted by restarts {row.attempt} time(s)",
                )
            )

    async def reconcile(self) -> None:
        await self._cancel_ended()
        for item in await self._items("new"):
            await self._plan(item)
        await self._start_waiting()
        for item in await self._items("running"):
            await self._finish_if_done(item)

    async def _items(self, state: str) -> list[queue.ItemRow]:
        async with self.engine.connect() as db:
            return await queue.items_in(db, state)

    # -- planning ------------------------------------------------------------------

    async def _plan(self, item: queue.ItemRow) -> None:
        if await self._waits_its_turn(item):
            return
        event = load_event(item.event)
        try:
            skip, files = await self._files(item, event)
        except DriverError as error:
            log.warning("item %d: cannot list its files yet (%s); will retry", item.id, error)
            return
        if skip is not None:
            async with self.engine.begin() as db:
                if await queue.plan_item(db, item.id, "skipped", skip):
                    log.info(
                        "item %d (%s in %s) skipped: %s", item.id, _what(event), item.pipeline, skip
                    )
            return
        jobs = [job for job in self._jobs(item) if job.is_relevant(files)]
        # The item may have been superseded or dequeued while its files were fetched.
        async with self.engine.begin() as db:
            if not jobs:
                await queue.plan_item(db, item.id, "finished", "no job applies to these files")
                return
            if not await queue.plan_item(db, item.id, "running"):
                return
            await queue.add_builds(db, item.id, [(j.name, j.voting) for j in jobs])
        await self._report_start(item, [j.name for j in jobs], event)

    async def _waits_its_turn(self, item: queue.ItemRow) -> bool:
        """Supercedent: an item stays new while an older one of its branch runs, so a
        newer item can still replace it (one running and one waiting per branch)."""
        pipeline = self.config().pipelines.get(item.pipeline)
        if pipeline is None or pipeline.manager is not Manager.SUPERCEDENT:
            return False
        async with self.engine.connect() as db:
            return await queue.older_running(db, item)

    def _jobs(self, item: queue.ItemRow) -> list[Job]:
        return self.config().jobs_for(item.project, item.connection, item.pipeline)

    async def _files(self, item: queue.ItemRow, event: Event) -> tuple[str | None, list[str]]:
        """Why the item is no longer worth building (or None), and its files. Raises
        DriverError while the change's server cannot say."""
        if item.change_number is None or item.revision is None:
            return None, []
        source = self.changes[item.connection]
        try:
            state = await source.change_state(item.project, item.change_number, item.revision)
        except DriverNotFoundError:
            return f"change {item.change_number} is not found (deleted, or hidden from the CI)", []
        skip = self._not_worth_building(item, event, state)
        if skip is not None:
            return skip, []
        if state.files is not None:
            return None, list(state.files)
        files = await source.revision_files(item.project, item.change_number, item.revision)
        return None, files

    def _not_worth_building(
        self, item: queue.ItemRow, event: Event, state: ChangeState
    ) -> str | None:
        """What the store could not know when the item was enqueued: the change closed
        since, or a newer patchset came. An item of the merge itself (a post pipeline's)
        and an operator's explicit choice of patchset are built all the same."""
        triggered_closed = event.change is not None and event.change.closed
        if state.closed and not triggered_closed:
            return f"change {item.change_number} is {state.status.lower()}"
        pipeline = self.config().pipelines.get(item.pipeline)
        wants_current = pipeline is None or pipeline.current_patchset_only
        if (
            wants_current
            and event.origin is not Origin.OPERATOR
            and not state.is_current(item.revision or "")
        ):
            return (
                f"patchset {item.patchset} is no longer current "
                f"(patchset {state.current_patchset} is)"
            )
        return None

    # -- builds ----------------------------------------------------------------------

    async def _start_waiting(self) -> None:
        """Start the waiting builds whose not-before time has come; wake up for the next."""
        now = self._clock()
        waiting = builds.c.state == "waiting"
        async with self.engine.connect() as db:
            rows = (
                await db.execute(
                    select(builds)
                    .where(waiting)
                    .where(or_(builds.c.not_before.is_(None), builds.c.not_before <= now))
                    .order_by(builds.c.item_id)
                )
            ).all()
            later = await db.scalar(
                select(func.min(builds.c.not_before))
                .where(waiting)
                .where(builds.c.not_before > now)
            )
        self._wake_at(later, now)
        for row in rows:
            if row.id not in self._tasks:
                task = asyncio.create_task(self._build(row))
                self._tasks[row.id] = task
                task.add_done_callback(self._forget(row.id))

    def _wake_at(self, when: datetime | None, now: datetime) -> None:
        """Wake the loop when a backed-off build may start (the tick may be long)."""
        if self._retry_wake is not None:
            self._retry_wake.cancel()
            self._retry_wake = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            delay = max(0.0, (when - now).total_seconds())
            self._retry_wake = asyncio.get_running_loop().call_later(delay, self._wake.set)

    def _forget(self, build_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(build_id, None)

        return forget

    async def _build(self, row: Any) -> None:
        async with self.engine.connect() as db:
            item = await queue.item(db, row.item_id)
        job = self._job_named(item, row.job)
        if job is None:
            await self._record(
                row, item.pipeline, BuildResult.ERROR, f"job {row.job!r} is no longer configured"
            )
            return
        request = BuildRequest(
            build_id=row.id,
            attempt=row.attempt,
            pipeline=item.pipeline,
            job=job,
            event=load_event(item.event),
            connection=self.connections[item.connection],
        )
        outcome = await self.executor.run(request, on_started=self._started)
        await self._finished(row, item.pipeline, outcome)

    def _job_named(self, item: queue.ItemRow, name: str) -> Job | None:
        for job in self._jobs(item):
            if job.name == name:
                return job
        return self.config().jobs.get(name)

    async def _started(self, started: BuildStarted) -> None:
        async with self.engine.begin() as db:
            await db.execute(
                update(builds)
                .where(builds.c.id == started.build_id)
                .where(builds.c.state == "waiting")
                .values(
                    state="running",
                    node=started.node,
                    log_url=started.log_url,
                    started_at=queue.now(),
                )
            )
        log.info(
            "build %s started on %s: %s",
            started.build_id,
            started.node,
            served_log_url(self.logs_url, started.log_url) or started.log_url,
        )

    async def _finished(self, row: Any, pipeline: str, outcome: BuildOutcome) -> None:
        async with self.engine.begin() as db:
            ended = await db.execute(
                update(builds)
                .where(builds.c.id == row.id)
                .where(builds.c.state.in_(queue.LIVE))
                .values(
                    state="finished",
                    result=outcome.result.value,
                    log_url=outcome.log_url,
                    detail=outcome.detail,
                    node=outcome.node,
                    started_at=datetime.fromtimestamp(outcome.started_at, UTC),
                    finished_at=datetime.fromtimestamp(outcome.finished_at, UTC),
                )
            )
            # A build canceled meanwhile keeps its row as it is, and is no retry.
            if ended.rowcount and outcome.result.retryable:
                await self._retry(db, row, outcome.detail or outcome.result.value)
        if ended.rowcount:
            metrics.builds_finished.labels(pipeline, outcome.result.value).inc()
            log.info(
                "build %s (%s, attempt %d) finished: %s in %s%s",
                row.id,
                row.job,
                row.attempt,
                outcome.result.value,
                format_duration(outcome.duration),
                f" ({outcome.detail})" if outcome.detail else "",
            )
        self._wake.set()

    async def _record(self, row: Any, pipeline: str, result: BuildResult, detail: str) -> None:
        async with self.engine.begin() as db:
            await db.execute(
                update(builds)
                .where(builds.c.id == row.id)
                .values(
                    state="finished", result=result.value, detail=detail, finished_at=queue.now()
                )
            )
        metrics.builds_finished.labels(pipeline, result.value).inc()
        self._wake.set()

    async def _retry(
        self, db: AsyncConnection, row: Any, why: str, *, backoff: bool = True
    ) -> bool:
        """Queue the next attempt of a build that ended for the infrastructure, if the job
        allows another; whether it did. With `backoff` it waits (30 s, 2 min, then 5 min,
        jittered): what was unreachable a moment ago rarely is back at once."""
        item = await queue.item(db, row.item_id)
        job = self._job_named(item, row.job)
        limit = job.attempts if job else 1
        if item.state not in queue.ACTIVE or row.attempt >= limit:
            if item.state in queue.ACTIVE:
                log.warning(
                    "build %s (%s) ended for the infrastructure (%s) on its last attempt (%d)",
                    row.id,
                    row.job,
                    why,
                    row.attempt,
                )
            return False
        delay = retry_delay(row.attempt, self._jitter()) if backoff else 0.0
        not_before = self._clock() + timedelta(seconds=delay) if delay else None
        await queue.add_builds(
            db, row.item_id, [(row.job, bool(row.voting))], row.attempt + 1, not_before
        )
        log.info(
            "build %s (%s) ended for the infrastructure (%s): attempt %d in %.0f s",
            row.id,
            row.job,
            why,
            row.attempt + 1,
            delay,
        )
        return True

    async def _cancel_ended(self) -> None:
        if not self._tasks:
            return
        async with self.engine.connect() as db:
            canceled = set(
                await db.scalars(
                    select(builds.c.id)
                    .where(builds.c.id.in_(list(self._tasks)))
                    .where(builds.c.state == "canceled")
                )
            )
        for build_id in canceled:
            task = self._tasks.get(build_id)
            if task is not None:
                log.info("build %s: canceled", build_id)
                task.cancel()

    # -- reports ---------------------------------------------------------------------

    async def _finish_if_done(self, item: queue.ItemRow) -> None:
        async with self.engine.connect() as db:
            rows = (
                await db.execute(
                    select(builds)
                    .where(builds.c.item_id == item.id)
                    .order_by(builds.c.job, builds.c.attempt)
                )
            ).all()
        if any(r.state in queue.LIVE for r in rows):
            return
        final = _final_attempts(rows)
        lines = [self._line(r) for r in final]
        # The item may have been superseded since it was read: its report and its end
        # commit together, and only while it is still running.
        async with self.engine.begin() as db:
            if not await queue.claim_finish(db, item.id, VERDICTS[item_outcome(lines)]):
                return
            keys = await self._report(db, item, lines)
            result_keys = await self._report_results(db, item, lines)
        for key in keys:
            self.reports.send_soon(key)
        if self.results is not None:
            for key in result_keys:
                self.results.send_soon(key)

    def _line(self, row: Any) -> JobLine:
        duration = 0.0
        if row.started_at is not None and row.finished_at is not None:
            duration = (row.finished_at - row.started_at).total_seconds()
        url = served_log_url(self.logs_url, row.log_url) or ""
        return JobLine(
            row.job, row.result or "ERROR", url, duration, bool(row.voting), row.detail or ""
        )

    async def _report(
        self, db: AsyncConnection, item: queue.ItemRow, lines: Sequence[JobLine]
    ) -> list[str]:
        """Record the item's final report(s) in `db`; the keys to send once committed."""
        pipeline = self.config().pipelines.get(item.pipeline)
        if pipeline is None:
            return []
        if item.change_number is None or item.patchset is None:
            log.info(
                "item %d (%s %s in %s) %s: no change to report on in Gerrit; "
                "its builds and their logs are recorded",
                item.id,
                item.project,
                item.branch,
                item.pipeline,
                VERDICTS[item_outcome(lines)],
            )
            return []
        verdict = decide(item.pipeline, lines, patchset=item.patchset, branch=item.branch)
        if verdict.outcome is Outcome.ERROR:
            log.warning(
                "item %d (change %d,%d in %s): infrastructure error, %s",
                item.id,
                item.change_number,
                item.patchset,
                item.pipeline,
                "reported to its error reporters" if pipeline.error else "no error reporter",
            )
        actions = reporters(pipeline, verdict.outcome)
        message = item_message(verdict, lines, self.config().ci.info_url)
        keys: list[str] = []
        for action in actions:
            report = self._report_for(item, f"item-{item.id}-{action.connection}", action, message)
            if report is not None and await self.reports.add(db, report):
                keys.append(report.key)
        return keys

    async def _report_results(
        self, db: AsyncConnection, item: queue.ItemRow, lines: Sequence[JobLine]
    ) -> list[str]:
        """Record the item's job results for the results service in `db`, once per item."""
        if self.results is None or item.change_number is None or item.patchset is None:
            return []
        report = Report(
            key=f"item-{item.id}-{RESULTS_SERVICE}",
            connection=RESULTS_SERVICE,
            project=item.project,
            change=item.change_number,
            patchset=item.patchset,
            revision=item.revision or "",
            message="",
            pipeline=item.pipeline,
            branch=item.branch,
            jobs=tuple(lines),
        )
        return [report.key] if lines and await self.results.add(db, report) else []

    async def _report_start(self, item: queue.ItemRow, jobs: Sequence[str], event: Event) -> None:
        pipeline = self.config().pipelines.get(item.pipeline)
        if pipeline is None or item.change_number is None:
            return
        for action in pipeline.start:
            message = start_message(item.pipeline, jobs)
            await self._queue_report(
                item, f"item-{item.id}-start-{action.connection}", action, message
            )

    async def _queue_report(self, item: queue.ItemRow, key: str, action: Any, message: str) -> None:
        report = self._report_for(item, key, action, message)
        if report is not None:
            await self.reports.enqueue(report)

    def _report_for(
        self, item: queue.ItemRow, key: str, action: Any, message: str
    ) -> Report | None:
        if action.connection != item.connection:
            log.warning(
                "item %d: reporting to another connection (%s) is not supported",
                item.id,
                action.connection,
            )
            return None
        return Report(
            key=key,
            connection=item.connection,
            project=item.project,
            change=item.change_number or 0,
            patchset=item.patchset or 0,
            revision=item.revision or "",
            message=message if action.comment else "",
            labels=dict(action.labels),
            tag=report_tag(item.pipeline),
            notify=action.notify,
            after_merge=load_event(item.event).type == EventType.CHANGE_MERGED,
        )


def _final_attempts(rows: Sequence[Any]) -> list[Any]:
    """The newest attempt of each job, canceled ones aside."""
    newest: dict[str, Any] = {}
    for row in rows:
        if row.state in ("finished",) and (
            row.job not in newest or row.attempt > newest[row.job].attempt
        ):
            newest[row.job] = row
    return sorted(newest.values(), key=lambda r: r.job)


def _what(event: Event) -> str:
    if event.change and event.patchset:
        return f"change {event.change.number},{event.patchset.number}"
    return event.ref or event.project or "?"
