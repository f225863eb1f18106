"""An item's jobs shown running in the results service, so Gerrit's Checks tab (and anyone
reading the API) sees them from the moment they are planned, each linked to its console.

The item's report replaces them: it is queued later, so its results are newer. An item
that ends without a report (superseded, its change abandoned or merged, dequeued by an
operator) must not leave them running for ever: its builds' ends are reported under the
key its report would have had, so an item has one final set of results either way. That
happens once the end committed (a subscriber to the store's moves), again a little later
when the store could not take it, and, for an end a crash came between, when the next
process starts.

The report replaces the running results because the results service keeps, per job, the
result reported last, and a report's time is when it was queued: a running report
delivered late (retried while the service was away) is still the older one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.build import console_url
from crosscheck.model.events import PROMOTION
from crosscheck.model.job import Job
from crosscheck.model.report import RESULTS_SERVICE, RUNNING, JobLine, Report
from crosscheck.model.states import ENDED_EARLY_STATES, ItemState, ItemTransition, Transition
from crosscheck.reports.queue import ReportQueue
from crosscheck.store import work
from crosscheck.store.transitions import Transitions

log = logging.getLogger(__name__)

#: How far back a new process looks for early ends a crash left unreported.
SWEEP_WINDOW = timedelta(days=2)
#: Seconds before an end that could not be queued (the store away) is tried again.
RETRY_AFTER = 30


def running_key(item_id: int) -> str:
    return f"item-{item_id}-{RESULTS_SERVICE}-running"


def final_key(item_id: int) -> str:
    """The key of an item's final results, whether its report or its early end sent them."""
    return f"item-{item_id}-{RESULTS_SERVICE}"


class RunningResults:
    def __init__(
        self,
        engine: AsyncEngine,
        results: ReportQueue | None,
        *,
        logs_url: str,
        line_of: Callable[[work.BuildRow], JobLine],
        transitions: Transitions,
    ) -> None:
        self.engine = engine
        self.results = results
        self.logs_url = logs_url
        #: A build's job line, as a report has it.
        self._line_of = line_of
        self._ended: asyncio.Queue[int] = asyncio.Queue()
        if results is not None:
            transitions.subscribe(self._moved)

    async def report_running(
        self, db: AsyncConnection, item: work.ItemRow, jobs: Sequence[Job], build_ids: Sequence[str]
    ) -> list[str]:
        """Record, in `db`, the item's jobs as running; the keys to send once committed."""
        if self.results is None or not _reported(item):
            return []
        lines = tuple(
            JobLine(job.name, RUNNING, console_url(self.logs_url, build_id), 0.0, job.voting)
            for job, build_id in zip(jobs, build_ids, strict=True)
        )
        report = results_report(item, running_key(item.id), lines)
        return [report.key] if lines and await self.results.add(db, report) else []

    def send(self, keys: Sequence[str]) -> None:
        if self.results is not None:
            for key in keys:
                self.results.send_soon(key)

    def _moved(self, move: Transition) -> None:
        if (
            isinstance(move, ItemTransition)
            and move.from_state is ItemState.RUNNING
            and move.to_state in ENDED_EARLY_STATES
        ):
            self._ended.put_nowait(move.item_id)

    async def run(self) -> None:
        """Report early ends as they commit, after those a crash left unreported."""
        results = self.results
        if results is None:
            return
        try:
            for item_id in await self._unreported_ends(results):
                self._ended.put_nowait(item_id)
        except Exception:
            # The store is not answering yet: the ends it holds wait for the next start,
            # the new ones are reported below.
            log.exception("the jobs of items that ended early could not be looked up")
        while True:
            item_id = await self._ended.get()
            try:
                await self._report_end(results, item_id)
            except Exception:
                log.exception(
                    "item %d: its jobs' ends could not be queued; trying again in %d s",
                    item_id,
                    RETRY_AFTER,
                )
                asyncio.get_running_loop().call_later(RETRY_AFTER, self._ended.put_nowait, item_id)

    async def _unreported_ends(self, results: ReportQueue) -> list[int]:
        """Items that ended early lately, were shown running, and whose end is not queued."""
        async with self.engine.connect() as db:
            ids = await work.ended_early_since(db, work.now() - SWEEP_WINDOW)
        shown = await results.existing([running_key(item_id) for item_id in ids])
        ended = await results.existing([final_key(item_id) for item_id in ids])
        return [i for i in ids if running_key(i) in shown and final_key(i) not in ended]

    async def _report_end(self, results: ReportQueue, item_id: int) -> None:
        async with self.engine.begin() as db:
            item = await work.find_item(db, item_id)
            if item is None or item.state not in ENDED_EARLY_STATES or not _reported(item):
                return
            builds = await work.builds_of_items(db, [item_id])
            lines = tuple(self._line_of(build) for build in newest_attempts(builds))
            report = results_report(item, final_key(item_id), lines)
            if not lines or not await results.add(db, report):
                return
        # Every planned job was shown running, started or not: the count is all of them.
        log.info(
            "item %d %s: the results service is sent how its %d planned job(s) ended "
            "(shown running since the item was planned)",
            item_id,
            item.state.value,
            len(lines),
        )
        results.send_soon(report.key)


def newest_attempts(builds: Sequence[work.BuildRow]) -> list[work.BuildRow]:
    """Each job's newest attempt, canceled or not: an early end reports them all."""
    newest: dict[str, work.BuildRow] = {}
    for build in builds:
        if build.job not in newest or build.attempt > newest[build.job].attempt:
            newest[build.job] = build
    return sorted(newest.values(), key=lambda b: b.job)


def _reported(item: work.ItemRow) -> bool:
    """Items of a patchset; a candidate's evidence is its final results only."""
    return (
        item.connection != PROMOTION
        and item.change_number is not None
        and item.patchset is not None
    )


def results_report(
    item: work.ItemRow, key: str, lines: Sequence[JobLine], note: str = ""
) -> Report:
    """The job lines of an item of a patchset, for the results service."""
    return Report(
        key=key,
        connection=RESULTS_SERVICE,
        project=item.project,
        change=item.change_number or 0,
        patchset=item.patchset or 0,
        revision=item.revision or "",
        message="",
        pipeline=item.pipeline,
        branch=item.branch,
        jobs=tuple(lines),
        note=note,
    )
