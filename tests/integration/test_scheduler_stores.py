"""The scheduler's loop fed by the intake, on SQLite and PostgreSQL.

The loop's tick is an hour, so only the intake's wake-up after its commit can make
the item move: woken earlier (from inside the transaction), the loop would read
before the commit, find nothing, and sleep.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.events.intake import EventIntake
from crosscheck.model.build import BuildResult
from crosscheck.model.events import Event
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store import open_store
from crosscheck.store.tables import builds, reports
from tests.unit.scheduler.fakes import FakeChanges, FakeExecutor
from tests.unit.scheduler.test_scheduler import load, patchset_created


async def wait_report(engine: AsyncEngine, timeout: float = 30) -> dict[str, object]:
    async with asyncio.timeout(timeout):
        while True:
            async with engine.connect() as db:
                row = (await db.execute(select(reports.c.payload))).first()
            if row is not None:
                payload: dict[str, object] = json.loads(row.payload)
                return payload
            await asyncio.sleep(0.1)


async def test_a_submitted_event_wakes_the_loop_and_ends_in_one_report(
    store_url: str, tmp_path: Path
) -> None:
    engine = await open_store(store_url)
    config = load(tmp_path)
    scheduler = Scheduler(
        engine,
        lambda: config,
        executor=FakeExecutor({"lab": BuildResult.FAILURE}),
        reports=ReportQueue(engine, {}),
        connections=config.connections,
        changes={"review": FakeChanges(["driver.py"])},
        tick=3600,
    )

    async def accept_then_linger(event: Event, db: AsyncConnection) -> None:
        await scheduler.accept(event, db)
        await asyncio.sleep(0.3)  # the rest of the transaction, slow on a busy database

    passes = 0
    reconcile = scheduler.reconcile

    async def counted_reconcile() -> None:
        nonlocal passes
        await reconcile()
        passes += 1

    scheduler.reconcile = counted_reconcile  # type: ignore[method-assign]
    # As serve wires it: the item the event enqueues wakes the loop once it committed.
    intake = EventIntake(engine, accept_then_linger)
    loop = asyncio.create_task(scheduler.run())
    try:
        async with asyncio.timeout(30):
            while not passes:  # the first pass finds nothing; then the loop sleeps an hour
                await asyncio.sleep(0.01)
        assert await intake.submit(patchset_created(11, 1))
        payload = await wait_report(engine)
        async with engine.connect() as db:
            rows = (await db.execute(select(builds.c.job, builds.c.result))).all()
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await engine.dispose()
    assert payload["labels"] == {"Verified": 1}
    assert sorted(rows) == [("lab", "FAILURE"), ("unit", "SUCCESS")]
