"""The scheduler loop: items become builds on the executor, and finished items one report.

Events arrive through `accept`, the intake's sink, inside the intake's transaction:
an event is recorded as seen only together with the items it enqueued. Everything
else happens in `run`, a loop that reconciles the database with what is running in
this process when woken: by the intake and the operator after their commits, by
every committed move of an item or a build (`transitions`: a build ended, an item
superseded or dequeued, so a waiting one's turn came), and by the timers of what
waits (an item whose server did not answer, a build's back-off). An idle scheduler
runs no pass at all. Because every step reads its work from
the database, a restart (even after `kill -9`) resumes where the last one stopped:
builds found running are re-run with their attempt counted, items whose builds are
done get their report, and a report is queued under a key unique to the item, so
it is never sent twice. The item's job results for a results service are queued in
the same transaction, under a key of their own.

The parts: planning an item (here), its builds (`builds.BuildTasks`), its reports
(`reporting.ItemReporting`); what a pipeline's manager decides is in `managers`, and
every read and write of items and builds in `crosscheck.store.work`. Each move of an
item or a build is published on `transitions` once committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck import metrics
from crosscheck.drivers.base import ChangeSource, DriverError, DriverNotFoundError, FoundPatchset
from crosscheck.model.build import BuildResult
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import CLOSING_EVENTS, ChangeState, Event, Origin
from crosscheck.model.item_context import ItemContext, change_label
from crosscheck.model.job import Job
from crosscheck.model.pipeline import Pipeline
from crosscheck.model.states import ItemState
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.builds import BuildRunner, BuildTasks
from crosscheck.scheduler.candidates import candidate_event, enqueue_candidate
from crosscheck.scheduler.context_plan import ContextPlanner, RefsNow, ScenarioUnavailableError
from crosscheck.scheduler.dependencies import DependencyProblem
from crosscheck.scheduler.enqueue import enqueue_item
from crosscheck.scheduler.managers import manager_for
from crosscheck.scheduler.message import dependency_verdict, unavailable_verdict
from crosscheck.scheduler.replans import Replans
from crosscheck.scheduler.reporting import ItemReporting, item_named
from crosscheck.scheduler.running_results import RunningResults
from crosscheck.scheduler.triggers import (
    OLD_PATCHSET,
    OWN_ACCOUNT,
    SKIPPED_STATE,
    ignored_reason,
    triggered,
)
from crosscheck.store import work
from crosscheck.store.context_codec import dump_context
from crosscheck.store.event_codec import load_event
from crosscheck.store.transitions import Transitions

log = logging.getLogger(__name__)

__all__ = ["CLOSING_EVENTS", "BuildRunner", "Scheduler"]


#: Seconds before a pass that failed is tried again.
FAILED_PASS_DELAY = 5.0

#: New items planned at once (each asks its Gerrit for the change's files first).
PLANNED_AT_ONCE = 8


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
        tick: float | None = None,
        results: ReportQueue | None = None,
        clock: Callable[[], datetime] = work.now,
        jitter: Callable[[], float] = random.random,
        transitions: Transitions | None = None,
        scenario_refs: RefsNow | None = None,
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
        #: Longest wait between passes; None (serve's): none without a cause. Waking
        #: on every cause makes a periodic pass useless; tests may still set one.
        self.tick = tick
        #: Every move of an item or a build on this engine, once committed; serve hands
        #: it to what follows them (live status, promotion, the Checks tab).
        self.transitions = transitions or Transitions()
        self.transitions.attach(engine)
        self._wake = asyncio.Event()
        # Any committed move may be a pass's work: a build that ended (the item's report),
        # an item that ended (its builds canceled, the next of its branch planned).
        self.transitions.subscribe(lambda _: self._wake.set())
        self.builds = BuildTasks(
            engine,
            config,
            executor,
            connections,
            logs_url=self.logs_url,
            wake=self.wake,
            clock=clock,
            jitter=jitter,
        )
        self.reporting = ItemReporting(engine, config, reports, results, self.logs_url)
        self.running_results = RunningResults(
            engine,
            results,
            logs_url=self.logs_url,
            line_of=self.reporting.line_of,
            transitions=self.transitions,
        )
        #: Items whose server could not answer while they were planned, tried again later.
        self.replans = Replans()
        #: Depends-On and scenario versions, once per item; `scenario_refs` resolves a
        #: scenario's configured refs while it has no candidate.
        self.context = ContextPlanner(
            engine,
            lambda: config().scenarios,
            self._current_patchset,
            lambda: {name: c.http_url for name, c in config().connections.items()},
            scenario_refs,
        )

    async def _current_patchset(self, connection: str, number: int) -> FoundPatchset:
        source = self.changes.get(connection)
        if source is None:
            raise DriverNotFoundError(f"serve does not connect to {connection!r}")
        return await source.find_patchset(number, None)

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
                        await work.newest_patchset(
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
        if pipeline.candidates is not None:
            await self._enqueue_candidate(pipeline, event, db)
            return
        item_id = await enqueue_item(db, pipeline, event)
        if item_id is None:
            log.info("%s already queued in %s", _what(event), pipeline.name)
        else:
            log.info("item %d for %s in %s", item_id, _what(event), pipeline.name)

    async def _enqueue_candidate(
        self, pipeline: Pipeline, tick: Event, db: AsyncConnection
    ) -> None:
        """A timer's tick of a pipeline of candidates: the candidate its level holds now."""
        source = pipeline.candidates
        scenario = self.config().scenarios.get(source.scenario) if source else None
        if source is None or scenario is None:
            log.warning("%s: its scenario is not configured; nothing enqueued", pipeline.name)
            return
        event = await candidate_event(db, scenario, source.level, tick.created_on, tick.origin)
        if event is None:
            log.info(
                "%s: %s %s holds no candidate yet; nothing to test", pipeline.name,
                source.scenario, source.level,
            )  # fmt: skip
            return
        await enqueue_candidate(db, pipeline, event)

    def _ignored(self, event: Event, reason: str, message: str) -> None:
        metrics.events_ignored.labels(event.connection, reason).inc()
        # The CI's own messages come with every report: at INFO they would be noise.
        log.log(logging.DEBUG if reason == OWN_ACCOUNT else logging.INFO, "%s", message)

    async def _end_closed_change(self, event: Event, db: AsyncConnection) -> None:
        """An abandoned, merged or deleted change's items end in every pipeline, their builds
        canceled and nothing reported; in `db`, so they end with the event's record.
        The items the merge itself enqueues (a post pipeline's) come after this."""
        how = CLOSING_EVENTS.get(EventType(event.type)) if event.known else None
        if how is None or event.change is None:
            return
        detail = f"change {how}"
        number = event.change.number
        ended_items = await work.end_change(
            db, event.connection, number, ItemState.DEQUEUED, detail
        )
        for ended in ended_items:
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
        ends = asyncio.create_task(self.running_results.run(), name="running-results")
        ends.add_done_callback(_said_if_failed)
        try:
            while True:
                failed = False
                try:
                    await self.reconcile()
                except Exception:
                    log.exception(
                        "scheduler: a pass failed; trying again in %.0f s", FAILED_PASS_DELAY
                    )
                    failed = True
                metrics.scheduler_passes.inc()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._next_pass_in(failed))
                self._wake.clear()
        finally:
            ends.cancel()
            await self.stop_builds()

    def _next_pass_in(self, failed: bool) -> float | None:
        """Seconds until a pass is due without a wake-up; None: none is."""
        delays = [self.replans.next_in()]
        if failed:  # nothing wakes the loop for a pass that failed: the store was away
            delays.append(FAILED_PASS_DELAY)
        if self.tick is not None:
            delays.append(self.tick)
        due = [delay for delay in delays if delay is not None]
        return min(due) if due else None

    async def stop_builds(self) -> None:
        """Cancel this process's builds; their rows stay `running`, so the next start
        re-runs them."""
        await self.builds.stop()

    async def recover(self) -> None:
        """After a restart: builds that were running when the last process died run again,
        once what they left on the nodes is stopped."""
        await self.builds.recover()

    async def reconcile(self) -> None:
        await self.builds.cancel_ended()
        # Items whose last build ended first: their reports wait on nothing else, while
        # new items are planned and builds started in the same pass.
        await self._finish_done()
        await self._plan_new(await self._items(ItemState.NEW))
        await self.builds.start_waiting()

    async def _finish_done(self) -> None:
        running = await self._items(ItemState.RUNNING)
        async with self.engine.connect() as db:  # one read for every running item
            attempts = await work.builds_of_items(db, [item.id for item in running])
        by_item: dict[int, list[work.BuildRow]] = {item.id: [] for item in running}
        for build in attempts:
            by_item[build.item_id].append(build)
        for item in running:
            await self.reporting.finish_if_done(item, by_item[item.id])

    async def _items(self, state: ItemState) -> list[work.ItemRow]:
        async with self.engine.connect() as db:
            return await work.items_in(db, state)

    # -- planning ------------------------------------------------------------------

    async def _plan_new(self, new: list[work.ItemRow]) -> None:
        """Plan the new items, several at once: each first asks its Gerrit for the
        change's files, and a burst planned one by one waited for thirty answers in a
        row. Items of one lane (a supercedent pipeline's branch) stay in order, so one
        still sees the other started; the first failure is raised once all ended."""
        lanes: dict[Hashable, list[work.ItemRow]] = {}
        for item in new:
            lanes.setdefault(self._lane(item), []).append(item)
        room = asyncio.Semaphore(PLANNED_AT_ONCE)

        async def plan_in_order(items: list[work.ItemRow]) -> None:
            for item in items:
                async with room:
                    await self._plan(item)

        ended = await asyncio.gather(
            *(plan_in_order(items) for items in lanes.values()), return_exceptions=True
        )
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome

    def _lane(self, item: work.ItemRow) -> Hashable:
        pipeline = self.config().pipelines.get(item.pipeline)
        return item.id if pipeline is None else manager_for(pipeline).lane(item)

    async def _plan(self, item: work.ItemRow) -> None:
        if self.replans.waiting(item.id) or await self._waits_its_turn(item):
            return
        event = load_event(item.event)
        # The change's fetch into its mirror overlaps with asking Gerrit for its files
        # and planning; its builds then share that fetch or find nothing left to fetch.
        self.executor.prefetch(event, self.connections.get(item.connection))
        candidates = self._jobs(item)
        try:
            skip, files = await self._files(item, event, needed=_match_files(candidates))
        except DriverError as error:
            self.replans.later(item.id, f"{item_named(item)}: cannot list its files yet ({error})")
            return
        if skip is not None:
            async with self.engine.begin() as db:
                if await work.plan_item(db, item.id, ItemState.SKIPPED, skip):
                    log.info(
                        "item %d (%s in %s) skipped: %s", item.id, _what(event), item.pipeline, skip
                    )
            return
        jobs = [job for job in candidates if job.is_relevant(files)]
        context = await self._context(item, event, jobs)
        if context is None:
            return
        # The item may have been superseded or dequeued while its files were fetched.
        async with self.engine.begin() as db:
            if not jobs:
                await work.plan_item(
                    db, item.id, ItemState.FINISHED, "no job applies to these files"
                )
                return
            stored = dump_context(context)
            if not await work.plan_item(db, item.id, ItemState.RUNNING, context=stored):
                return
            build_ids = await work.add_builds(db, item.id, [(j.name, j.voting) for j in jobs])
            running = await self.running_results.report_running(db, item, jobs, build_ids)
        self.running_results.send(running)
        await self.reporting.report_start(item, [j.name for j in jobs], event)

    async def _context(
        self, item: work.ItemRow, event: Event, jobs: list[Job]
    ) -> ItemContext | None:
        """What the item's builds are made with; None when it is not planned now: its
        dependencies were reported instead, or a server could not say yet."""
        if not jobs:
            return ItemContext()
        try:
            context = await self.context.plan(event, jobs)
        except DependencyProblem as problem:
            verdict = dependency_verdict(item.pipeline, str(problem))
            await self.reporting.report_unbuilt(item, verdict)
        except ScenarioUnavailableError as problem:
            verdict = unavailable_verdict(item.pipeline, str(problem))
            await self.reporting.report_unbuilt(item, verdict)
        except DriverError as error:
            what = f"{item_named(item)}: cannot resolve its dependencies or scenario versions yet"
            self.replans.later(item.id, f"{what} ({error})")
        else:
            self.replans.forget(item.id)
            _log_context(item, context)
            return context
        return None

    async def _waits_its_turn(self, item: work.ItemRow) -> bool:
        """Whether the pipeline's manager keeps the item new for now (a supercedent item
        while an older one of its branch runs, so a newer item can still replace it)."""
        pipeline = self.config().pipelines.get(item.pipeline)
        if pipeline is None:
            return False
        async with self.engine.connect() as db:
            return await manager_for(pipeline).waits_its_turn(db, item)

    def _jobs(self, item: work.ItemRow) -> list[Job]:
        config = self.config()
        pipeline = config.pipelines.get(item.pipeline)
        if pipeline is not None and pipeline.candidates is not None:
            named = (config.jobs.get(name) for name in pipeline.candidates.jobs)
            return [job for job in named if job is not None and not job.abstract]
        return config.jobs_for(item.project, item.connection, item.pipeline)

    async def _files(
        self, item: work.ItemRow, event: Event, *, needed: bool
    ) -> tuple[str | None, list[str]]:
        """Why the item is no longer worth building (or None), and its files (none
        unless `needed`: no job matches files). Raises DriverError while the change's
        server cannot say."""
        if item.change_number is None or item.revision is None:
            return None, []
        source = self.changes[item.connection]
        try:
            state = await source.change_state(
                item.project, item.change_number, item.revision, files=needed
            )
        except DriverNotFoundError:
            return f"change {item.change_number} is not found (deleted, or hidden from the CI)", []
        skip = self._not_worth_building(item, event, state)
        if skip is not None:
            return skip, []
        if not needed:
            return None, []
        if state.files is not None:
            return None, list(state.files)
        files = await source.revision_files(item.project, item.change_number, item.revision)
        return None, files

    def _not_worth_building(
        self, item: work.ItemRow, event: Event, state: ChangeState
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


def _match_files(jobs: list[Job]) -> bool:
    """Whether any of the jobs runs only for some files: planning then needs the change's."""
    return any(job.files or job.irrelevant_files for job in jobs)


def _log_context(item: work.ItemRow, context: ItemContext) -> None:
    """What the item is built with, beyond its change: the operator's first question."""
    for dependency in context.dependencies:
        log.info(
            "item %d depends on %s (%s, %s)",
            item.id,
            dependency.label,
            dependency.url,
            dependency.status.lower(),
        )
    for versions in context.distinct_scenarios:
        taken = f"candidate {versions.candidate[:12]}" if versions.candidate else "its refs"
        where = f" at {versions.level}" if versions.level else ""
        log.info("item %d runs in scenario %s, %s%s", item.id, versions.scenario, taken, where)


def _said_if_failed(task: asyncio.Task[None]) -> None:
    """A background task of the scheduler that died is said, not left to the GC's warning."""
    if not task.cancelled() and task.exception() is not None:
        log.error("scheduler: %s stopped", task.get_name(), exc_info=task.exception())


def _what(event: Event) -> str:
    """`change upstream:12,3`: its Gerrit too, since two may each have a change 12."""
    if event.change and event.patchset:
        return (
            f"change {change_label(event.connection, event.change.number, event.patchset.number)}"
        )
    return event.ref or event.project or "?"
