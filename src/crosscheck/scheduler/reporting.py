"""What an item reports: a start message when its builds are created, and once they all
ended, its one report (and its job results for a results service).

The final report is queued in the transaction that finishes the item, under a key
unique to the item, and only while the item still runs: an item superseded or
dequeued meanwhile reports nothing, and no item reports twice, restarts included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.executor.layout import served_log_url
from crosscheck.model.config import Config
from crosscheck.model.event_types import EventType
from crosscheck.model.events import PROMOTION, Event
from crosscheck.model.item_context import change_label
from crosscheck.model.pipeline import Pipeline, ReportAction
from crosscheck.model.report import RESULTS_SERVICE, JobLine, Report, report_tag
from crosscheck.model.states import LIVE_BUILD_STATES, BuildState, ItemState
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.message import (
    VERDICTS,
    Outcome,
    Verdict,
    applied_changes,
    decide,
    item_message,
    item_outcome,
    reporters,
    scenario_line,
    start_message,
)
from crosscheck.scheduler.running_results import final_key, newest_attempts, results_report
from crosscheck.store import work
from crosscheck.store.context_codec import load_context
from crosscheck.store.event_codec import load_event

log = logging.getLogger(__name__)


class ItemReporting:
    def __init__(
        self,
        engine: AsyncEngine,
        config: Callable[[], Config],
        reports: ReportQueue,
        results: ReportQueue | None,
        logs_url: str,
    ) -> None:
        self.engine = engine
        self.config = config
        self.reports = reports
        #: The queue of job results for a results service; None: they are not reported.
        self.results = results
        self.logs_url = logs_url

    async def finish_if_done(
        self, item: work.ItemRow, builds: Sequence[work.BuildRow] | None = None
    ) -> None:
        """Finish a running item whose builds all ended, and queue its reports; `builds`
        are its attempts when the caller read them already."""
        if builds is None:
            async with self.engine.connect() as db:
                builds = await work.builds_of_items(db, [item.id])
        if any(b.state in LIVE_BUILD_STATES for b in builds):
            return
        lines = [self.line_of(b) for b in final_attempts(builds)]
        # The item may have been superseded since it was read: its report and its end
        # commit together, and only while it is still running.
        async with self.engine.begin() as db:
            if not await work.claim_finish(db, item.id, VERDICTS[item_outcome(lines)]):
                return
            keys = await self._report(db, item, lines)
            result_keys = await self._report_results(db, item, lines)
        for key in keys:
            self.reports.send_soon(key)
        if self.results is not None:
            for key in result_keys:
                self.results.send_soon(key)

    async def report_start(self, item: work.ItemRow, jobs: Sequence[str], event: Event) -> None:
        pipeline = self.config().pipelines.get(item.pipeline)
        if pipeline is None or item.change_number is None:
            return
        for action in _own_reporters(item, pipeline.start):
            message = start_message(item.pipeline, jobs)
            report = self._report_for(
                item, f"item-{item.id}-start-{action.connection}", action, message
            )
            await self.reports.enqueue(report)

    def line_of(self, build: work.BuildRow) -> JobLine:
        duration = 0.0
        if build.started_at is not None and build.finished_at is not None:
            duration = (build.finished_at - build.started_at).total_seconds()
        url = served_log_url(self.logs_url, build.log_url) or ""
        return JobLine(
            build.job, build.result or "ERROR", url, duration, build.voting, build.detail or ""
        )

    async def _report(
        self, db: AsyncConnection, item: work.ItemRow, lines: Sequence[JobLine]
    ) -> list[str]:
        """Record the item's final report(s) in `db`; the keys to send once committed."""
        pipeline = self.config().pipelines.get(item.pipeline)
        if pipeline is None:
            return []
        if item.connection == PROMOTION:
            log.info(
                "item %d (candidate %s of %s in %s) %s: its results go to the results "
                "service, as the candidate's evidence",
                item.id,
                (item.revision or "")[:12],
                item.project,
                item.pipeline,
                VERDICTS[item_outcome(lines)],
            )
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
        scenarios = scenario_lines(item)
        context = load_context(item.context)
        verdict = decide(
            item.pipeline,
            lines,
            patchset=item.patchset,
            branch=item.branch,
            in_scenario=bool(scenarios),
            depends=any(not d.merged for d in context.dependencies),
        )
        if verdict.outcome is Outcome.ERROR:
            log.warning(
                "item %d (change %d,%d in %s): infrastructure error, %s",
                item.id,
                item.change_number,
                item.patchset,
                item.pipeline,
                "reported to its error reporters" if pipeline.error else "no error reporter",
            )
        message = item_message(verdict, lines, self.config().ci.info_url, scenarios)
        return await self._queue(db, item, pipeline, verdict, message)

    async def _queue(
        self,
        db: AsyncConnection,
        item: work.ItemRow,
        pipeline: Pipeline,
        verdict: Verdict,
        message: str,
    ) -> list[str]:
        keys: list[str] = []
        for action in _own_reporters(item, reporters(pipeline, verdict.outcome)):
            report = self._report_for(item, f"item-{item.id}-{action.connection}", action, message)
            if await self.reports.add(db, report):
                keys.append(report.key)
        return keys

    async def report_unbuilt(self, item: work.ItemRow, verdict: Verdict) -> None:
        """A new item that cannot be built as asked (its Depends-On cannot be met, its
        scenario's versions cannot be taken): finished with a report saying why, instead
        of builds that would test something else than the author meant."""
        pipeline = self.config().pipelines.get(item.pipeline)
        message = item_message(verdict, [], self.config().ci.info_url)
        async with self.engine.begin() as db:
            if not await work.plan_item(db, item.id, ItemState.FINISHED, VERDICTS[verdict.outcome]):
                return
            keys = await self._queue(db, item, pipeline, verdict, message) if pipeline else []
        log.warning("%s not built: %s", item_named(item), verdict.headline)
        for key in keys:
            self.reports.send_soon(key)

    async def _report_results(
        self, db: AsyncConnection, item: work.ItemRow, lines: Sequence[JobLine]
    ) -> list[str]:
        """Record the item's job results for the results service in `db`, once per item."""
        if self.results is None:
            return []
        if item.connection == PROMOTION and item.revision:
            return await self._report_candidate_results(db, item, lines)
        if item.change_number is None or item.patchset is None:
            return []
        report = results_report(item, final_key(item.id), lines, "\n".join(scenario_lines(item)))
        return [report.key] if lines and await self.results.add(db, report) else []

    async def _report_candidate_results(
        self, db: AsyncConnection, item: work.ItemRow, lines: Sequence[JobLine]
    ) -> list[str]:
        """A candidate's item: its results are the candidate's, evidence for its levels."""
        if self.results is None:  # pragma: no cover -- checked by the caller
            return []
        report = Report(
            key=final_key(item.id),
            connection=RESULTS_SERVICE,
            project=item.project,
            change=0,
            patchset=0,
            revision="",
            message="",
            pipeline=item.pipeline,
            jobs=tuple(lines),
            candidate=item.revision,
        )
        return [report.key] if lines and await self.results.add(db, report) else []

    def _report_for(
        self, item: work.ItemRow, key: str, action: ReportAction, message: str
    ) -> Report:
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


def item_named(item: work.ItemRow) -> str:
    """`item 7 (upstream:12,3 in check)`: which Gerrit's change, once there are two."""
    if item.change_number is None or item.patchset is None:
        return f"item {item.id} ({item.project} in {item.pipeline})"
    change = change_label(item.connection, item.change_number, item.patchset)
    return f"item {item.id} ({change} in {item.pipeline})"


def scenario_lines(item: work.ItemRow) -> list[str]:
    """One line per scenario the item's jobs ran in: its versions, and the changes
    merged onto them (the item's own and its dependencies)."""
    context = load_context(item.context)
    own = (
        change_label(item.connection, item.change_number, item.patchset)
        if item.change_number is not None and item.patchset is not None
        else None
    )
    applied = applied_changes(item.connection, item.project, own, context.dependencies)
    return [scenario_line(v, applied) for v in context.distinct_scenarios]


def _own_reporters(item: work.ItemRow, actions: Sequence[ReportAction]) -> tuple[ReportAction, ...]:
    """The reporters on the item's own connection. A pipeline triggered by several
    Gerrits lists a reporter for each, and a change is reported only where it came
    from; reporting to another Gerrit alone is not supported, and said so."""
    own = tuple(action for action in actions if action.connection == item.connection)
    if not own:
        for action in actions:
            log.warning(
                "item %d: reporting to another connection (%s) is not supported",
                item.id,
                action.connection,
            )
    return own


def final_attempts(builds: Sequence[work.BuildRow]) -> list[work.BuildRow]:
    """The newest attempt of each job, canceled ones aside."""
    return newest_attempts([b for b in builds if b.state is BuildState.FINISHED])
