"""The report queue: reports are persisted, sent in the background, retried, and recorded.

Enqueuing only writes a row and returns, so a slow or failing Gerrit never holds
up event intake. Each attempt has a timeout. An attempt that fails for a reason
that may pass (Gerrit unreachable, 5xx, a timeout) is tried again after a capped,
jittered exponential backoff, for as long as the report is younger than
`give_up_after` (24 hours by default, counted from the row's `created_at`, so it
holds across restarts). Every report ends `sent`, `skipped` (the reporter saw the
patchset superseded or the change closed) or `failed` (refused for good, no
reporter, or too old), with the transport and reason; a failure is logged at
WARNING and counted in `crosscheck_reports_given_up_total`.

A report waiting for its next attempt holds nothing: the wait is a timer that puts
the key back on the queue, and each attempt runs as a task of its own, at most
`workers` at once per destination, so a destination that hangs never delays
another's reports. When a destination answers again (a report delivered or skipped),
the reports waiting for it are tried at once.

After a restart, reports still `pending` or `sending` are sent again (the
reporter checks Gerrit first, so an earlier attempt that landed is not repeated).
While a report waits, its row says how many attempts failed and the last error,
which `crosscheck status` shows.

Several queues may share the table, one per kind of destination (Gerrit
connections; the results service), so that one slow destination never holds up
another's reports: each queue resends only the reports of its own reporters. At
start, a report whose connection is no longer configured stays pending until it is
again; one handed to a queue without a reporter for it is given up (`no-reporter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.base import Reporter, TransientReportError
from crosscheck.errors import printable, said
from crosscheck.metrics import report_delivery_seconds, reports_finished, reports_given_up
from crosscheck.model.build import format_duration
from crosscheck.model.config import DEFAULT_REPORT_GIVE_UP_AFTER
from crosscheck.model.pipeline import Notify
from crosscheck.model.report import JobLine, Report, ReportOutcome, ReportState
from crosscheck.store.tables import reports

log = logging.getLogger(__name__)

#: Reasons a report is given up, as `crosscheck_reports_given_up_total` labels them.
MAX_AGE = "max-age"
REFUSED = "refused"
NO_REPORTER = "no-reporter"
#: A failed attempt is logged at WARNING the first time, then every this many attempts.
WARN_EVERY = 10
#: A waiting report's row keeps this much of the last error.
DETAIL_LENGTH = 4000


class ReportQueue:
    def __init__(
        self,
        engine: AsyncEngine,
        reporters: Mapping[str, Reporter],
        *,
        give_up_after: float | Callable[[], float] = DEFAULT_REPORT_GIVE_UP_AFTER,
        timeout: float = 60.0,
        base_backoff: float = 2.0,
        max_backoff: float = 120.0,
        workers: int = 2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.reporters = reporters
        # A callable follows the configuration in use (reloads included).
        self._give_up_after = give_up_after
        self.timeout = timeout
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.workers = workers
        #: Wall-clock seconds; reports' ages are measured with it (a test's own clock).
        self.clock = clock
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        # Queued, in flight or waiting for its next attempt: never delivered twice at once.
        self._queued: set[str] = set()
        # Waiting for the next attempt: key -> (destination, timer).
        self._waiting: dict[str, tuple[str, asyncio.TimerHandle]] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}

    async def enqueue(self, report: Report) -> bool:
        """Record a report to send; False when a report with this key exists already."""
        try:
            async with self.engine.begin() as connection:
                added = await self.add(connection, report)
        except IntegrityError:
            return False
        if added:
            self.send_soon(report.key)
        return added

    async def add(self, connection: AsyncConnection, report: Report) -> bool:
        """Record a report inside the caller's transaction, so that it commits together
        with what decided it; the caller calls `send_soon` after the commit."""
        exists = await connection.scalar(
            select(reports.c.id).where(reports.c.report_key == report.key)
        )
        if exists is not None:
            return False
        await connection.execute(
            insert(reports).values(
                report_key=report.key,
                connection=report.connection,
                project=report.project,
                change_number=report.change,
                patchset=report.patchset,
                revision=report.revision,
                payload=_payload(report),
                state=ReportState.PENDING.value,
                attempts=0,
                created_at=datetime.fromtimestamp(self.clock(), UTC),
            )
        )
        return True

    async def existing(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are queued (in any state)."""
        if not keys:
            return set()
        async with self.engine.connect() as connection:
            found = await connection.scalars(
                select(reports.c.report_key).where(reports.c.report_key.in_(list(keys)))
            )
            return set(found)

    @property
    def give_up_after(self) -> float:
        """Seconds from queuing after which an undelivered report is given up."""
        limit = self._give_up_after
        return float(limit() if callable(limit) else limit)

    def send_soon(self, key: str) -> None:
        self._put(key)

    async def run(self) -> None:
        """Send reports until cancelled, starting with those a previous run left unfinished."""
        for key in await self._unfinished():
            self._put(key)
        try:
            async with asyncio.TaskGroup() as group:
                while True:
                    key = await self._queue.get()
                    group.create_task(self._attempt(key))
        finally:
            # Whatever was queued or waiting is still unfinished in the store: a next
            # `run` starts from there.
            for _, timer in self._waiting.values():
                timer.cancel()
            self._waiting.clear()
            self._queued.clear()
            while not self._queue.empty():
                self._queue.get_nowait()

    def _put(self, key: str) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def state(self, key: str) -> tuple[ReportState, str | None, str | None]:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(reports.c.state, reports.c.transport, reports.c.detail).where(
                        reports.c.report_key == key
                    )
                )
            ).one()
        return ReportState(row.state), row.transport, row.detail

    async def _attempt(self, key: str) -> None:
        """One attempt; then the report is final, or waits on a timer for the next."""
        try:
            retry = await self._deliver(key)
        except Exception as error:
            # A fault of ours or of the store (a database restarting): the row is still
            # unfinished, so try again later rather than leaving it to the next start.
            log.exception("report %s: unexpected failure; trying again later", key)
            retry = await self._after_fault(key, error)
        if retry is None:
            self._queued.discard(key)
            return
        timer = asyncio.get_running_loop().call_later(retry.delay, self._due, key)
        self._waiting[key] = (retry.destination, timer)

    async def _after_fault(self, key: str, error: Exception) -> _DelayedRetry:
        """The retry after an unexpected failure. Its row says so, and when the next
        attempt comes, rather than `sending` for nothing; and the retry is filed under its
        destination, so that Gerrit answering again wakes it too. The store may be what
        failed: then the row stays as it was."""
        delay, destination = self.max_backoff, ""
        with contextlib.suppress(Exception):
            next_at = datetime.fromtimestamp(self.clock() + delay, UTC)
            async with self.engine.begin() as connection:
                unfinished = (reports.c.report_key == key) & reports.c.state.in_(
                    [ReportState.PENDING.value, ReportState.SENDING.value]
                )
                destination = (
                    await connection.scalar(select(reports.c.connection).where(unfinished)) or ""
                )
                await connection.execute(
                    update(reports)
                    .where(unfinished)
                    .values(
                        state=ReportState.PENDING.value,
                        detail=printable(said(error), DETAIL_LENGTH),
                        next_attempt_at=next_at,
                    )
                )
        return _DelayedRetry(delay, destination)

    def _due(self, key: str) -> None:
        self._waiting.pop(key, None)
        self._queue.put_nowait(key)  # still in `_queued`, from the first put

    def retry_now(self, destination: str) -> None:
        """Try the reports waiting for `destination` now: a source saw it answer again
        (a Gerrit whose stream reconnected), so they need not sit out their back-off."""
        self._wake(destination)

    def _wake(self, destination: str) -> None:
        """Try the reports waiting for `destination` now: it answered again."""
        for key, (waiting_for, timer) in list(self._waiting.items()):
            if waiting_for == destination:
                timer.cancel()
                self._due(key)

    def _limit(self, destination: str) -> asyncio.Semaphore:
        if destination not in self._limits:
            self._limits[destination] = asyncio.Semaphore(self.workers)
        return self._limits[destination]

    async def _deliver(self, key: str) -> _DelayedRetry | None:
        """Send the report once; the retry to schedule, or None once it is final."""
        report, attempts, state, due, last_error = await self._load(key)
        if state.final:
            return None  # queued twice (a `send_soon` racing a restart's resume): done
        if due is not None:
            # A retry is due now (its back-off over, or its destination answered again):
            # it may yet wait for a worker, and meanwhile the status says `now`, not
            # the back-off's end.
            await self._mark(key, ReportState.PENDING, attempts)
        reporter = self.reporters.get(report.connection)
        if reporter is None:
            outcome = ReportOutcome(
                ReportState.FAILED, detail=f"no reporter for connection {report.connection!r}"
            )
            await self._finish(report, attempts, outcome, NO_REPORTER)
            return None
        async with self._limit(report.connection):
            attempts += 1
            await self._mark(key, ReportState.SENDING, attempts)
            try:
                attempt = replace(report, earlier_attempts=attempts - 1)
                outcome = await asyncio.wait_for(reporter.send(attempt), self.timeout)
            except (TransientReportError, TimeoutError) as error:
                detail = str(error) or f"no answer within {self.timeout:g}s"
                return await self._failed_attempt(report, attempts, detail, last_error)
        await self._finish(report, attempts, outcome, REFUSED)
        if outcome.state in (ReportState.SENT, ReportState.SKIPPED):
            self._wake(report.connection)  # it answered
        return None

    async def _failed_attempt(
        self, report: Report, attempts: int, error: str, last_error: str | None
    ) -> _DelayedRetry | None:
        detail = printable(error, DETAIL_LENGTH)  # a destination's words, for the log and status
        now, limit = self.clock(), self.give_up_after
        age = now - report.queued_at
        if age >= limit:
            outcome = ReportOutcome(
                ReportState.FAILED,
                detail=f"given up after {format_duration(age)} and {attempts} attempt(s): "
                + detail,
            )
            await self._finish(report, attempts, outcome, MAX_AGE)
            return None
        # The last attempt comes when the report reaches its age limit, not after.
        delay = min(self._backoff(attempts), limit - age)
        next_at = datetime.fromtimestamp(now + delay, UTC)
        await self._mark(report.key, ReportState.PENDING, attempts, detail, next_at)
        level = logging.DEBUG
        if attempts == 1 or attempts % WARN_EVERY == 0 or _changed(last_error, detail):
            level = logging.WARNING
        log.log(
            level,
            "report %s on %s to %s: attempt %d failed (%s); trying again in %.0fs, "
            "until it is %s old",
            report.key,
            report.subject,
            report.connection,
            attempts,
            detail,
            delay,
            format_duration(limit),
        )
        return _DelayedRetry(delay, report.connection)

    def _backoff(self, attempts: int) -> float:
        """Exponential from `base_backoff`, capped; jittered within the upper half, so
        reports failing together spread out yet none comes back at once."""
        ceiling = min(self.max_backoff, self.base_backoff * 2 ** min(attempts - 1, 30))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 -- jitter, not cryptography

    async def _finish(
        self, report: Report, attempts: int, outcome: ReportOutcome, reason: str
    ) -> None:
        """Record the final outcome; `reason` labels a failure in the given-up metric."""
        now = self.clock()
        detail = printable(outcome.detail, DETAIL_LENGTH)  # for the log and the status too
        async with self.engine.begin() as connection:
            await connection.execute(
                update(reports)
                .where(reports.c.report_key == report.key)
                .values(
                    state=outcome.state.value,
                    attempts=attempts,
                    transport=outcome.transport,
                    detail=detail,
                    finished_at=datetime.fromtimestamp(now, UTC),
                    next_attempt_at=None,
                )
            )
        reports_finished.labels(report.connection, outcome.state.value).inc()
        if outcome.state is ReportState.SENT:
            report_delivery_seconds.labels(report.connection).observe(
                max(0.0, now - report.queued_at)
            )
        if outcome.state is ReportState.FAILED:
            reports_given_up.labels(report.connection, reason).inc()
            log.warning(
                "report %s on %s to %s given up (%s): %s",
                report.key,
                report.subject,
                report.connection,
                reason,
                detail,
            )
            return
        log.info(
            "report %s on %s: %s%s after %d attempt(s) (%s)",
            report.key,
            report.subject,
            outcome.state.value,
            f" via {outcome.transport}" if outcome.transport else "",
            attempts,
            detail,
        )

    async def _mark(
        self,
        key: str,
        state: ReportState,
        attempts: int,
        detail: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        values: dict[str, object] = {
            "state": state.value,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
        }
        if detail is not None:
            values["detail"] = detail
        async with self.engine.begin() as connection:
            await connection.execute(
                update(reports).where(reports.c.report_key == key).values(**values)
            )

    async def _load(self, key: str) -> tuple[Report, int, ReportState, datetime | None, str | None]:
        """The report, its attempts so far, its state, when its next attempt was due, and
        its last error."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(reports).where(reports.c.report_key == key))
            ).one()
        data = json.loads(row.payload)
        report = Report(
            key=key,
            connection=row.connection,
            project=row.project,
            change=row.change_number,
            patchset=row.patchset,
            revision=row.revision,
            message=data["message"],
            labels=data["labels"],
            tag=data["tag"],
            notify=Notify(data["notify"]),
            queued_at=row.created_at.timestamp(),
            # Reports queued before results were reported carry neither.
            pipeline=data.get("pipeline", ""),
            branch=data.get("branch", ""),
            jobs=tuple(JobLine(**job) for job in data.get("jobs", ())),
            after_merge=bool(data.get("after_merge", False)),
            candidate=data.get("candidate"),
            note=data.get("note", ""),
        )
        return report, row.attempts, ReportState(row.state), row.next_attempt_at, row.detail

    async def _unfinished(self) -> list[str]:
        async with self.engine.connect() as connection:
            keys = await connection.scalars(
                select(reports.c.report_key)
                .where(reports.c.state.in_([ReportState.PENDING.value, ReportState.SENDING.value]))
                .where(reports.c.connection.in_(list(self.reporters)))
                .order_by(reports.c.id)
            )
        return list(keys)


@dataclass(frozen=True)
class _DelayedRetry:
    """The next attempt of a report: in `delay` seconds, to `destination`."""

    delay: float
    destination: str


def _payload(report: Report) -> str:
    return json.dumps(
        {
            "message": report.message,
            "labels": dict(report.labels),
            "tag": report.tag,
            "notify": report.notify.value,
            **({"pipeline": report.pipeline} if report.pipeline else {}),
            **({"branch": report.branch} if report.branch else {}),
            **({"jobs": [asdict(job) for job in report.jobs]} if report.jobs else {}),
            **({"after_merge": True} if report.after_merge else {}),
            **({"candidate": report.candidate} if report.candidate else {}),
            **({"note": report.note} if report.note else {}),
        }
    )


#: Numbers in an error (a count of attempts, a port, a request id) do not make it news.
_NUMBERS = re.compile(r"\d+")


def _changed(last_error: str | None, detail: str) -> bool:
    """Whether an attempt failed otherwise than the one before (refused, then a 500):
    worth a warning even between the reminders, as the outage changed its nature."""
    if last_error is None:
        return False
    return _NUMBERS.sub("#", last_error) != _NUMBERS.sub("#", detail)
