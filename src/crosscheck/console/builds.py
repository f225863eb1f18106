"""A build as its console shows it: the store's row, its item, where its console.log is,
and the JSON twin of its page.

The row says where the log directory is (`log_url`, relative to /logs/, URL-quoted as
the executor wrote it) and whether the build may still write (waiting or running).
Only a directory inside the logs root is ever opened, as /logs/ itself does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.executor.records import CONSOLE_LOG
from crosscheck.logs.files import resolve
from crosscheck.model.states import LIVE_BUILD_STATES, BuildState
from crosscheck.store import work

#: Build ids are the executor's hex uuids; anything else is no build of ours, refused
#: before it reaches a query (a NUL, say, that PostgreSQL cannot even compare).
_BUILD_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")
#: An id quoted in a message is cut here.
SHOWN_LENGTH = 100


@dataclass(frozen=True)
class ConsoleBuild:
    row: work.BuildRow
    item: work.ItemRow | None
    #: console.log, when the build has a log directory that is still kept.
    path: Path | None

    @property
    def live(self) -> bool:
        return self.row.state in LIVE_BUILD_STATES


@dataclass(frozen=True)
class ConsoleView:
    """A build and the addresses of its console (paths on this server)."""

    id: str
    job: str
    attempt: int
    pipeline: str | None
    project: str | None
    change: int | None
    patchset: int | None
    #: waiting, running, finished, interrupted, canceled.
    state: str
    #: SUCCESS, FAILURE, ... once it ended.
    result: str | None
    detail: str | None
    node: str | None
    started_at: datetime | None
    finished_at: datetime | None
    #: Waiting or running: its console may still grow.
    live: bool
    #: The page: the log so far, followed while the build runs.
    console_url: str
    #: Server-sent events: each line from `from=N` on, then `end`.
    events_url: str
    #: The lines as plain text (`from=N`).
    text_url: str
    #: Its log directory and console.log under /logs/, once it has them.
    log_url: str | None
    console_log_url: str | None


def valid_build_id(build_id: str) -> bool:
    return _BUILD_ID.fullmatch(build_id) is not None


def shown_id(build_id: str) -> str:
    """A build id as an error message may quote it: short and in quotes."""
    cut = build_id if len(build_id) <= SHOWN_LENGTH else build_id[:SHOWN_LENGTH] + "…"
    return repr(cut)


def console_path(logs_root: Path, log_url: str | None) -> Path | None:
    """console.log of the log directory `log_url` names, if it exists inside the root."""
    if not log_url:
        return None
    relative = "/".join(unquote(part) for part in log_url.strip("/").split("/"))
    directory = resolve(logs_root, relative)
    if directory is None or not directory.is_dir():
        return None
    return directory / CONSOLE_LOG


async def find(engine: AsyncEngine, logs_root: Path, build_id: str) -> ConsoleBuild | None:
    if not valid_build_id(build_id):
        return None
    async with engine.connect() as db:
        row = await work.find_build(db, build_id)
        if row is None:
            return None
        item = await work.find_item(db, row.item_id)
    return ConsoleBuild(row, item, console_path(logs_root, row.log_url))


async def state_of(engine: AsyncEngine, logs_root: Path, build_id: str) -> ConsoleBuild | None:
    """The build's row alone, for a follower's repeated look (no item read)."""
    async with engine.connect() as db:
        row = await work.find_build(db, build_id)
    if row is None:
        return None
    return ConsoleBuild(row, None, console_path(logs_root, row.log_url))


def console_url(build_id: str, prefix: str = "") -> str:
    return f"{prefix}/builds/{quote(build_id, safe='')}/console"


def api_url(build_id: str, prefix: str = "") -> str:
    return f"{prefix}/api/v1/builds/{quote(build_id, safe='')}"


def view(build: ConsoleBuild, prefix: str = "") -> ConsoleView:
    row, item = build.row, build.item
    logs = f"{prefix}/logs/{row.log_url}" if row.log_url else None
    api = api_url(row.id, prefix)
    return ConsoleView(
        id=row.id,
        job=row.job,
        attempt=row.attempt,
        pipeline=item.pipeline if item else None,
        project=item.project if item else None,
        change=item.change_number if item else None,
        patchset=item.patchset if item else None,
        state=str(row.state),
        result=row.result,
        detail=row.detail,
        node=row.node,
        started_at=row.started_at,
        finished_at=row.finished_at,
        live=build.live,
        console_url=console_url(row.id, prefix),
        events_url=f"{api}/console/events",
        text_url=f"{api}/console",
        log_url=logs,
        console_log_url=f"{logs}{CONSOLE_LOG}" if logs and build.path else None,
    )


def state_text(build: ConsoleBuild) -> str:
    """What the build is doing, in a few words, for the page's heading."""
    row = build.row
    retry = row.not_before  # aware: the store's UtcDateTime
    if row.state is BuildState.WAITING and retry is not None and retry > datetime.now(UTC):
        return f"waiting to retry, at {retry:%H:%M:%S} UTC"
    if row.state is BuildState.WAITING:
        return "waiting for a node"
    if row.state is BuildState.RUNNING:
        return f"running on {row.node}" if row.node else "running"
    if row.state is BuildState.INTERRUPTED:
        return "interrupted (crosscheck stopped while it ran)"
    return row.result or str(row.state)
