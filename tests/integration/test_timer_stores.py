"""The timer's exactly-once rule with two crosscheck processes on one database.

Two timers with their own engines and intakes stand for two processes firing the
same scheduled time together. A process whose pass lost a race (SQLite's single
writer may answer "database is locked") tries again at its next pass.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.drivers.timer.source import CURSOR, TimerEventSource
from crosscheck.events.intake import EventIntake
from crosscheck.model.events import Event
from crosscheck.store import open_store
from tests.unit.timer.fakes import FakeClock, at, gerrit, load


async def test_two_processes_fire_each_scheduled_run_once(store_url: str, tmp_path: Path) -> None:
    processed: list[tuple[str, str, str]] = []

    async def slow_sink(event: Event, _: AsyncConnection) -> None:
        await asyncio.sleep(0.05)  # both processes are inside their transactions together
        processed.append(
            (event.timer.pipeline if event.timer else "?", event.project or "?", event.ref or "?")
        )

    config = load(tmp_path)
    engines = [await open_store(store_url), await open_store(store_url)]
    try:
        clocks = [FakeClock("2026-03-10 01:59:50"), FakeClock("2026-03-10 01:59:50")]
        timers = [
            TimerEventSource(
                EventIntake(engine, slow_sink), lambda: config, {"review": gerrit()}, clock=clock
            )
            for engine, clock in zip(engines, clocks, strict=True)
        ]
        await timers[0].start()
        for clock in clocks:
            clock.time = at("2026-03-10 02:00:01")
        await asyncio.gather(*(timer.fire_due() for timer in timers))
        for clock in clocks:
            clock.time += 30
        await asyncio.gather(*(timer.fire_due() for timer in timers))  # retries, if any
        cursor = await timers[0].intake.cursor(CURSOR)
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(processed) == [
        ("daily", "acme/driver", "refs/heads/master"),
        ("daily", "acme/lib-a", "refs/heads/main"),
        ("daily", "acme/lib-b", "refs/heads/master"),
    ]
    assert cursor == at("2026-03-10 02:00:31")
