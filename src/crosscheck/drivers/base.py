"""The small interfaces every driver implements.

EventSource (required for anything crosscheck listens to)
    `run()` delivers events into the intake until cancelled. It must survive any
    outage of its server and must not lose events across one (catch up, replay, or
    say plainly in its documentation that it cannot).

Reporter (required for anything crosscheck reports to)
    `send(report)` delivers one report and says how it went. It is called by the
    report queue, which persists reports, retries and applies timeouts; `send` itself
    must never post the same report twice (check before resending when unsure).

ProjectSource (required for a connection whose projects the timer fires for)
    `projects()` names every project the CI account can see, `head_branch(project)`
    the branch a project's HEAD points at, `branches(project)` its branches (short
    names). Called by the timer at each scheduled time; a project that does not
    exist raises `GerritNotFoundError` (or the driver's own not-found error).

ChangeSource (required for a connection whose changes the scheduler builds)
    `change_state(project, number, revision)` says how the change is now: its status,
    its current patchset, and the files of `revision` when it is the current one;
    `revision_files(...)` lists an older revision's files. Called before an item's
    builds are planned; an unreachable server raises `GerritError` (the item waits
    and is tried again), a change the account cannot see `GerritNotFoundError`.
"""

from __future__ import annotations

from typing import Protocol

from crosscheck.model.events import ChangeState
from crosscheck.model.report import Report, ReportOutcome


class EventSource(Protocol):
    async def run(self) -> None: ...


class Reporter(Protocol):
    async def send(self, report: Report) -> ReportOutcome: ...


class ProjectSource(Protocol):
    async def projects(self) -> list[str]: ...

    async def head_branch(self, project: str) -> str: ...

    async def branches(self, project: str) -> list[str]: ...


class ChangeSource(Protocol):
    async def change_state(self, project: str, number: int, revision: str) -> ChangeState: ...

    async def revision_files(self, project: str, number: int, revision: str) -> list[str]: ...


class TransientReportError(Exception):
    """The report could not be sent now; the queue tries again later."""
