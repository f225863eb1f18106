"""Run a report queue until one report is final (the queue tests of each reporter)."""

from __future__ import annotations

import asyncio

from crosscheck.model.report import ReportState
from crosscheck.reports.queue import ReportQueue


async def deliver(queue: ReportQueue, key: str) -> ReportState:
    task = asyncio.create_task(queue.run())
    try:
        for _ in range(500):
            state, _, _ = await queue.state(key)
            if state.final:
                return state
            await asyncio.sleep(0.01)
        raise AssertionError(f"report {key} never finished")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
