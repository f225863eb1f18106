"""Reports retried until delivered or given up at their age limit, and what the status
shows of them, on SQLite and on PostgreSQL (ages and windows compare stored times)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.report import ReportState
from crosscheck.operator.status import ReportsView, report_views
from crosscheck.store import open_store
from tests.unit.delivery import deliver
from tests.unit.test_report_retries import DAY, REPORT, Clock, FlakyReporter, fast


async def status_at(engine: AsyncEngine, clock: Clock) -> ReportsView:
    async with engine.connect() as db:
        return await report_views(db, datetime.fromtimestamp(clock.now, UTC))


async def test_retries_delivery_and_a_give_up_are_recorded_and_shown(store_url: str) -> None:
    engine = await open_store(store_url)
    try:
        clock = Clock()
        flaky = FlakyReporter(clock, failures=3)
        queue = fast(engine, {"review": flaky}, clock)
        assert await queue.enqueue(REPORT)
        assert await deliver(queue, REPORT.key) is ReportState.SENT
        # Another report, to a destination that never comes back: four hours per attempt.
        lost = replace(REPORT, key="item-9-review", change=9)
        down = FlakyReporter(clock, failures=float("inf"), step=4 * 3600)
        queue = fast(engine, {"review": down}, clock, give_up_after=DAY)
        assert await queue.enqueue(lost)
        waiting = await status_at(engine, clock)
        assert await deliver(queue, lost.key) is ReportState.FAILED
        after = await status_at(engine, clock)
        clock.now += DAY + 60
        a_day_later = await status_at(engine, clock)
        sent = await queue.state(REPORT.key)
    finally:
        await engine.dispose()
    assert sent == (ReportState.SENT, "rest", "posted")
    assert flaky.calls == 4
    assert ([r.key for r in waiting.pending], waiting.pending_count) == (["item-9-review"], 1)
    assert (after.pending, after.pending_count, after.failed_count) == ([], 0, 1)
    (failed,) = after.failed
    assert (failed.key, failed.state, failed.attempts) == ("item-9-review", "failed", 6)
    assert failed.detail is not None
    assert failed.detail.startswith("given up after 24h 00m 00s and 6 attempt(s): ")
    assert failed.finished_at is not None
    assert failed.finished_at.timestamp() - failed.queued_at.timestamp() >= DAY
    assert (a_day_later.failed, a_day_later.failed_count) == ([], 0)
