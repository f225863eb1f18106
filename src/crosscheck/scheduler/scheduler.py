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
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id
from crosscheck.errors import GerritError
from crosscheck.executor.executor import BuildStarted, StartedHook
from crosscheck.executor.layout import served_log_url
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event, EventType
from crosscheck.model.job import Job
from crosscheck.model.pipeline import Manager
from crosscheck.model.report import RESULTS_SERVICE, JobLine, Report, report_tag
from crosscheck.reporting import ReportQueue
from crosscheck.scheduler import queue
from crosscheck.scheduler.codec import load_event
from crosscheck.scheduler.message import item_message, item_passed, start_message
from crosscheck.scheduler.triggers import matching_pipelines
from crosscheck.store.tables import builds

log = logging.getLogger(__name__)


class BuildRunner(Protocol):
    """What the scheduler needs of an executor (the real one, or a fake in unit tests)."""

    async def run(
        self, request: BuildRequest, *, on_started: StartedHook | None = None
    ) -> BuildOutcome: ...

    async def recover(self, build_ids: Collection[str]) -> None: ...


#: Files Gerrit lists for every patchset that are not in the tree.
MAGIC_FILES = frozenset({"/COMMIT_MSG", "/MERGE_LIST", "/PATCHSET_LEVEL"})


class Scheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        config: Callable[[], Config],
        *,
        executor: BuildRunner,
        reports: ReportQueue,
        connections: Mapping[str, GerritConnection],
        rest: Mapping[str, GerritRestClient],
        logs_url: str = "",
        tick: float = 1.0,
        results: ReportQueue | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.executor = executor
        self.reports = reports
        #: The queue of job results for a results service; None: they are not reported.
        self.results = results
        self.connections = connections
        self.rest = rest
        self.logs_url = logs_url.rstrip("/")
        self.tick = tick
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    # -- events in -------------------------------------------------------------

    async def accept(self, event: Event, db: AsyncConnection) -> None:
        """The intake's sink: enqueue an item in every pipeline the event triggers."""
        for pipeline in matching_pipelines(self.config(), event):
            item_id = await queue.enqueue_item(db, pipeline, event)
            if item_id is None:
                log.info(
                    "%s: %s already queued in %s", event.connection, _what(event), pipeline.name
                )
            else:
                log.info(
                    "%s: item %d for %s in %s",
                    event.connection,
                    item_id,
                    _what(event),
                    pipeline.name,
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
        if marked.rowcount and not await self._retry(db, row, "interrupted by a restart"):
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
            files = await self._files(item)
        except GerritError as error:
            log.warning("item %d: cannot list its files yet (%s); will retry", item.id, error)
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

    async def _files(self, item: queue.ItemRow) -> list[str]:
        if item.change_number is None or item.revision is None:
            return []
        rest = self.rest[item.connection]
        cid = change_id(item.project, item.change_number)
        listing = await rest.get(f"/changes/{cid}/revisions/{item.revision}/files")
        return [name for name in listing if name not in MAGIC_FILES]

    # -- builds ----------------------------------------------------------------------

    async def _start_waiting(self) -> None:
        async with self.engine.connect() as db:
            rows = (
                await db.execute(
                    select(builds).where(builds.c.state == "waiting").order_by(builds.c.item_id)
                )
            ).all()
        for row in rows:
            if row.id not in self._tasks:
                task = asyncio.create_task(self._build(row))
                self._tasks[row.id] = task
                task.add_done_callback(self._forget(row.id))

    def _forget(self, build_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(build_id, None)

        return forget

    async def _build(self, row: Any) -> None:
        async with self.engine.connect() as db:
            item = await queue.item(db, row.item_id)
        job = self._job_named(item, row.job)
        if job is None:
            await self._record(row, BuildResult.ERROR, f"job {row.job!r} is no longer configured")
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
        await self._finished(row, outcome)

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

    async def _finished(self, row: Any, outcome: BuildOutcome) -> None:
        async with self.engine.begin() as db:
            await db.execute(
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
            if outcome.result.retryable:
                await self._retry(db, row, outcome.detail or outcome.result.value)
        self._wake.set()

    async def _record(self, row: Any, result: BuildResult, detail: str) -> None:
        async with self.engine.begin() as db:
            await db.execute(
                update(builds)
                .where(builds.c.id == row.id)
                .values(
                    state="finished", result=result.value, detail=detail, finished_at=queue.now()
                )
            )
        self._wake.set()

    async def _retry(self, db: AsyncConnection, row: Any, why: str) -> bool:
        """Queue the next attempt of a build that ended for the infrastructure, if the job
        allows another; whether it did."""
        item = await queue.item(db, row.item_id)
        job = self._job_named(item, row.job)
        limit = job.attempts if job else 1
        if item.state not in queue.ACTIVE or row.attempt >= limit:
            return False
        await queue.add_builds(db, row.item_id, [(row.job, bool(row.voting))], row.attempt + 1)
        log.info(
            "build %s (%s) ended for the infrastructure (%s): attempt %d",
            row.id,
            row.job,
            why,
            row.attempt + 1,
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
            verdict = "passed" if item_passed(lines) else "failed"
            if not await queue.claim_finish(db, item.id, verdict):
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
        return JobLine(row.job, row.result or "ERROR", url, duration, bool(row.voting))

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
                "passed" if item_passed(lines) else "failed",
            )
            return []
        actions = pipeline.success if item_passed(lines) else pipeline.failure
        message = item_message(item.pipeline, lines, self.config().ci.info_url)
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
