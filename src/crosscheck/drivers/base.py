"""The small interfaces every driver implements.

EventSource (required for anything crosscheck listens to)
    `run()` delivers events into the intake until cancelled. It must survive any
    outage of its server and must not lose events across one (catch up, replay, or
    say plainly in its documentation that it cannot).

Reporter (required for anything crosscheck reports to)
    `send(report)` delivers one report and says how it went. It is called by the
    report queue, which persists reports, retries and applies timeouts; `send` itself
    must never post the same report twice (check before resending when unsure).
"""

from __future__ import annotations

from typing import Protocol

from crosscheck.model.report import Report, ReportOutcome


class EventSource(Protocol):
    async def run(self) -> None: ...


class Reporter(Protocol):
    async def send(self, report: Report) -> ReportOutcome: ...


class TransientReportError(Exception):
    """The report could not be sent now; the queue tries again later."""
