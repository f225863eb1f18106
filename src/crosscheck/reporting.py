"""The report queue: reports are persisted, sent in the background, retried, and recorded.

Enqueuing only writes a row and returns, so a slow or failing Gerrit never holds
up event intake. Workers send with a timeout and bounded retries with backoff;
every report ends `sent`, `skipped` or `failed`, with the transport and reason.
After a restart, reports still `pending` or `sending` are sent again (the
reporter checks Gerrit first, so an earlier attempt that landed is not repeated).

Several queues may share the table, one per kind of destination (Gerrit
connections; the results service), so that one slow destination never holds up
another's reports: each queue resends only the reports of its own reporters. A
report whose connection is no longer configured stays pending until it is again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.base import Reporter, TransientReportError
from crosscheck.metrics import reports_finished
from crosscheck.model.pipeline import Notify
from crosscheck.model.report import JobLine, Report, ReportOutcome, ReportState
from crosscheck.store.tables import reports

log = logging.getLogger(__name__)


class ReportQueue:
    def __init__(
        self,
        engine: AsyncEngine,
        reporters: Mapping[str, Reporter],
        *,
        attempts: int = 5,
        timeout: float = 60.0,
        base_backoff: float = 2.0,
        workers: int = 2,
    ) -> None:
        self.engine = engine
        self.reporters = reporters
        self.attempts = attempts
        self.timeout = timeout
        self.base_backoff = base_backoff
        self.workers = workers
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()  # queued or in flight: never delivered twice at once

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
                created_at=datetime.now(UTC),
            )
        )
        return True

    def send_soon(self, key: str) -> None:
        self._put(key)

    async def run(self) -> None:
        """Send reports until cancelled, starting with those a previous run left unfinished."""
        for key in await self._unfinished():
            self._put(key)
        async with asyncio.TaskGroup() as group:
            for _ in range(self.workers):
                group.create_task(self._work())

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

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                await self._deliver(key)
            except Exception:
                log.exception("report %s: unexpected failure; it stays unfinished", key)
            finally:
                self._queued.discard(key)
                self._queue.task_done()

    async def _deliver(self, key: str) -> None:
        report, attempts = await self._load(key)
        reporter = self.reporters.get(report.connection)
        if reporter is None:
            await self._finish(
                report,
                attempts,
                ReportOutcome(
                    ReportState.FAILED, detail=f"no reporter for connection {report.connection!r}"
                ),
            )
            return
        while True:
            attempts += 1
            await self._mark(key, ReportState.SENDING, attempts)
            try:
                attempt = replace(report, earlier_attempts=attempts - 1)
                outcome = await asyncio.wait_for(reporter.send(attempt), self.timeout)
            except (TransientReportError, TimeoutError) as error:
                detail = str(error) or f"no answer within {self.timeout:g}s"
                if attempts >= self.attempts:
                    await self._finish(
                        report,
                        attempts,
                        ReportOutcome(
                            ReportState.FAILED,
                            detail=f"gave up after {attempts} attempts: {detail}",
                        ),
                    )
                    return
                delay = random.uniform(0, self.base_backoff * 2**attempts)  # noqa: S311
                log.warning(
                    "report %s: attempt %d failed (%s); again in %.1fs",
                    key,
                    attempts,
                    detail,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            await self._finish(report, attempts, outcome)
            return

    async def _finish(self, report: Report, attempts: int, outcome: ReportOutcome) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(reports)
                .where(reports.c.report_key == report.key)
                .values(
                    state=outcome.state.value,
                    attempts=attempts,
                    transport=outcome.transport,
                    detail=outcome.detail[:4000],
                    finished_at=datetime.now(UTC),
                )
            )
        reports_finished.labels(report.connection, outcome.state.value).inc()
        log.info(
            "report %s on change %d,%d: %s via %s (%s)",
            report.key,
            report.change,
            report.patchset,
            outcome.state.value,
            outcome.transport,
            outcome.detail,
        )

    async def _mark(self, key: str, state: ReportState, attempts: int) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(reports)
                .where(reports.c.report_key == key)
                .values(state=state.value, attempts=attempts)
            )

    async def _load(self, key: str) -> tuple[Report, int]:
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
        )
        return report, row.attempts

    async def _unfinished(self) -> list[str]:
        async with self.engine.connect() as connection:
            keys = await connection.scalars(
                select(reports.c.report_key)
                .where(reports.c.state.in_([ReportState.PENDING.value, ReportState.SENDING.value]))
                .where(reports.c.connection.in_(list(self.reporters)))
                .order_by(reports.c.id)
            )
        return list(keys)


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
        }
    )
