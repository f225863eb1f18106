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

RefSource (required for a connection whose projects are a scenario's components)
    `commit_of(project, kind, ref)` is the full commit id a branch's tip (`kind`
    "branch") or a tag ("tag") names now; an annotated tag's commit, not the tag
    object. A missing project, branch or tag raises `DriverNotFoundError`.
    `has_commit(project, sha)` says whether the project has that commit (None: the
    server cannot say, as a plain git remote cannot).

Tagger (required for a connection whose projects releases tag)
    `create_tag(project, name, sha, message)` makes the annotated tag `name` at
    `sha`. Calling it again for the same tag and commit succeeds (a release retried
    after a partial failure); a tag of that name at another commit raises `DriverError`.

ChangeSource (required for a connection whose changes the scheduler builds)
    `change_state(project, number, revision)` says how the change is now: its status,
    its current patchset, and the files of `revision` when it is the current one;
    `revision_files(...)` lists an older revision's files. Called before an item's
    builds are planned. `find_patchset(number, patchset)` looks a change and one of its
    patchsets (the current one when None) up, for operator enqueues. An unreachable
    server raises `DriverError` (the item waits and is tried again), a change the
    account cannot see `DriverNotFoundError`, a patchset that does not exist
    `PatchsetNotFoundError`.

EventSink (what a source feeds; the engine's intake implements it)
    `submit(event)` processes an event once and says whether it was new; `cursor`,
    `start_cursor`, `advance_cursor`, `history_start` and `prune` keep a source's
    low-water mark and its record of seen events, per connection name.

The engine (scheduler, executor, operator) imports only this module of `drivers/`:
a second driver adds a package beside `gerrit/` and touches nothing of theirs.
What `config/` needs of a driver (its connection and trigger specs, and their
builders) is in `drivers/config.py`, listed by driver name in `drivers/registry.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from crosscheck.errors import CrosscheckError
from crosscheck.model.events import Change, ChangeState, Event, PatchSet
from crosscheck.model.report import Report, ReportOutcome


class DriverError(CrosscheckError):
    """The connection's server could not answer now (down, refusing, erring): try later."""


class DriverNotFoundError(DriverError):
    """The server says the thing asked for does not exist, or the account cannot see it."""


class PatchsetNotFoundError(CrosscheckError):
    """The change exists, but not the patchset asked for."""

    def __init__(self, number: int, patchset: int, known: list[int]) -> None:
        listing = ", ".join(str(n) for n in known) or "none"
        super().__init__(f"change {number} has no patchset {patchset} (patchsets: {listing})")


@dataclass(frozen=True)
class FoundPatchset:
    change: Change
    patchset: PatchSet


class EventSource(Protocol):
    async def run(self) -> None: ...


class Reporter(Protocol):
    async def send(self, report: Report) -> ReportOutcome: ...


class ProjectSource(Protocol):
    async def projects(self) -> list[str]: ...

    async def head_branch(self, project: str) -> str: ...

    async def branches(self, project: str) -> list[str]: ...


class RefSource(Protocol):
    """The commit a branch's tip or a tag names now; DriverNotFoundError when there is none."""

    async def commit_of(self, project: str, kind: str, ref: str) -> str: ...

    async def has_commit(self, project: str, sha: str) -> bool | None: ...


class Tagger(Protocol):
    """Tags a commit of a project (a release); an existing tag at the same commit is kept."""

    async def create_tag(self, project: str, name: str, sha: str, message: str) -> None: ...


class ChangeSource(Protocol):
    async def change_state(
        self, project: str, number: int, revision: str, *, files: bool = True
    ) -> ChangeState:
        """The change as its server shows it; `files=False`: the caller needs no files,
        and a source that knows the revision current and the change open may say so
        without asking."""
        ...

    async def revision_files(self, project: str, number: int, revision: str) -> list[str]: ...

    async def find_patchset(self, number: int, patchset: int | None) -> FoundPatchset: ...


class EventSink(Protocol):
    async def submit(self, event: Event) -> bool: ...

    async def cursor(self, connection_name: str) -> float | None: ...

    async def start_cursor(self, connection_name: str, at: float) -> None: ...

    async def advance_cursor(self, name: str, at: float) -> None: ...

    async def history_start(self, connection_name: str) -> float | None: ...

    async def prune(self, connection_name: str, older_than: timedelta, *, before: float) -> int: ...


class TransientReportError(Exception):
    """The report could not be sent now; the queue tries again later."""
