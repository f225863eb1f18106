"""What the scheduler is doing, read from the store: queued items per pipeline, their
builds, the builds running now, and the reports not delivered (waiting for their
next attempt, or given up lately). The views are plain dataclasses; the status API
serialises them as they are, so their fields are the JSON's schema.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.executor.layout import served_log_url
from crosscheck.executor.pool import NodePool
from crosscheck.model.build import console_url
from crosscheck.model.config import Config
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event, Origin
from crosscheck.model.report import RESULTS_SERVICE, ReportState
from crosscheck.model.states import ACTIVE_ITEM_STATES, BuildState
from crosscheck.store import work
from crosscheck.store.event_codec import load_event
from crosscheck.store.tables import reports

#: A comment quoted in an item's `why` is cut to this many characters.
WHY_COMMENT_LENGTH = 60
#: Reports failed within this window are shown, at most REPORTS_SHOWN of each kind.
FAILED_REPORTS_WINDOW = timedelta(hours=24)
REPORTS_SHOWN = 50


@dataclass(frozen=True)
class BuildView:
    id: str
    job: str
    attempt: int
    voting: bool
    #: waiting, running, finished, interrupted, canceled.
    state: str
    #: SUCCESS, FAILURE, ... once it ended.
    result: str | None
    node: str | None
    started_at: datetime | None
    finished_at: datetime | None
    #: The build's logs, absolute when serve knows its public address.
    log_url: str | None
    detail: str | None
    #: Its console page (the log so far, followed while it runs), on the same server.
    console_url: str
    #: A waiting retry's start, not before this (its back-off after an infrastructure
    #: error); None otherwise.
    not_before: datetime | None = None
    #: It ended (ERROR) because Gerrit was away when it fetched the source: tried again
    #: until Gerrit is back, not counted against the job's attempts.
    source_away: bool = False


@dataclass(frozen=True)
class ItemView:
    id: int
    pipeline: str
    connection: str
    project: str
    branch: str
    change: int | None
    patchset: int | None
    #: new (jobs being chosen), running; ended items show finished, superseded, dequeued.
    state: str
    enqueued_at: datetime
    #: What enqueued it: the event, who caused it, or an operator.
    why: str
    detail: str | None
    builds: list[BuildView] = field(default_factory=list)


@dataclass(frozen=True)
class PipelineView:
    name: str
    #: independent or supercedent; None for a pipeline no longer configured.
    manager: str | None
    items: list[ItemView]


@dataclass(frozen=True)
class RunningBuildView:
    id: str
    item: int
    pipeline: str
    project: str
    change: int | None
    patchset: int | None
    job: str
    attempt: int
    node: str | None
    started_at: datetime | None
    log_url: str | None
    #: Its console page, followed live: what to open to watch it run.
    console_url: str


@dataclass(frozen=True)
class ReportView:
    key: str
    #: The connection reported to, or "@results" for the results service.
    destination: str
    project: str
    change: int
    patchset: int
    #: pending (waiting for its next attempt), sending; failed once given up.
    state: str
    #: Attempts made so far (0: none yet).
    attempts: int
    queued_at: datetime
    finished_at: datetime | None
    #: While pending: the last attempt's error. Once failed: why it was given up.
    detail: str | None
    #: While pending after a failed attempt: when it is tried next (sooner if its
    #: destination answers again). None before the first attempt, while sending, and
    #: once due (a retry waiting for a worker).
    next_attempt_at: datetime | None = None
    #: False while its destination (a connection, the results service) is no longer
    #: configured: no queue sends it until the destination is configured again.
    destination_configured: bool = True


@dataclass(frozen=True)
class ReportsView:
    #: Reports not yet delivered, oldest first (at most REPORTS_SHOWN of them).
    pending: list[ReportView] = field(default_factory=list)
    pending_count: int = 0
    #: Reports given up or refused in the last 24 hours, newest first (at most
    #: REPORTS_SHOWN of them).
    failed: list[ReportView] = field(default_factory=list)
    failed_count: int = 0


@dataclass(frozen=True)
class StatusView:
    pipelines: list[PipelineView]
    running_builds: list[RunningBuildView]
    #: Builds waiting for a node.
    waiting_builds: int
    reports: ReportsView = field(default_factory=ReportsView)
    #: Every node (this host's slots first) as the pool sees it; `/api/v1/nodes` has more.
    nodes: list[NodeStatus] = field(default_factory=list)
    #: Builds waiting out the back-off before a retry (`not_before` still ahead).
    retrying_builds: int = 0


@dataclass(frozen=True)
class NodeStatus:
    name: str
    state: str
    labels: list[str]
    pod: str | None
    builds: list[str]
    #: Why the node is out of rotation, or why it is held.
    reason: str
    held_by: str | None


def node_statuses(pool: NodePool) -> list[NodeStatus]:
    return [
        NodeStatus(
            v.name,
            v.state,
            list(v.labels),
            v.pod,
            list(v.builds),
            v.reason or v.hold_reason,
            v.held_by,
        )
        for v in pool.views()
    ]


async def read_status(db: AsyncConnection, config: Config, logs_url: str) -> StatusView:
    """Every configured pipeline (empty ones too) with its queued items, in queue order."""
    rows = await work.items_in(db, *ACTIVE_ITEM_STATES)
    views = await item_views(db, rows, logs_url)
    pipelines = [
        PipelineView(name, pipeline.manager.value, [v for v in views if v.pipeline == name])
        for name, pipeline in config.pipelines.items()
    ]
    # Items of a pipeline removed from the configuration still run to their end.
    for name in dict.fromkeys(v.pipeline for v in views if v.pipeline not in config.pipelines):
        pipelines.append(PipelineView(name, None, [v for v in views if v.pipeline == name]))
    running = [
        _running(item, b) for item in views for b in item.builds if b.state == BuildState.RUNNING
    ]
    now = datetime.now(UTC)
    waiting = [b for item in views for b in item.builds if b.state == BuildState.WAITING]
    # A retry sitting out its back-off waits for its time, not for a node.
    retrying = sum(b.not_before is not None and b.not_before > now for b in waiting)
    return StatusView(
        pipelines,
        running,
        len(waiting) - retrying,
        await report_views(db, now, _destinations(config)),
        retrying_builds=retrying,
    )


def _destinations(config: Config) -> set[str]:
    """Where this serve sends reports: its connections, and the results service."""
    return {*config.connections, *([RESULTS_SERVICE] if config.results.reporting else [])}


async def report_views(
    db: AsyncConnection, now: datetime, destinations: Collection[str] | None = None
) -> ReportsView:
    """The reports still to deliver, and those that failed in the 24 hours before `now`;
    a report still to deliver to none of `destinations` (when given) says so."""
    unfinished = reports.c.state.in_([ReportState.PENDING.value, ReportState.SENDING.value])
    failed = (reports.c.state == ReportState.FAILED.value) & (
        reports.c.finished_at >= now - FAILED_REPORTS_WINDOW
    )
    pending_rows = await db.execute(
        select(reports).where(unfinished).order_by(reports.c.id).limit(REPORTS_SHOWN)
    )
    failed_rows = await db.execute(
        select(reports)
        .where(failed)
        .order_by(reports.c.finished_at.desc(), reports.c.id.desc())
        .limit(REPORTS_SHOWN)
    )
    return ReportsView(
        pending=[_report(row, destinations) for row in pending_rows],
        pending_count=await db.scalar(select(func.count()).where(unfinished)) or 0,
        failed=[_report(row) for row in failed_rows],
        failed_count=await db.scalar(select(func.count()).where(failed)) or 0,
    )


def _report(row: Any, destinations: Collection[str] | None = None) -> ReportView:
    return ReportView(
        key=row.report_key,
        destination=row.connection,
        project=row.project,
        change=row.change_number,
        patchset=row.patchset,
        state=row.state,
        attempts=row.attempts,
        queued_at=row.created_at,
        finished_at=row.finished_at,
        detail=row.detail,
        next_attempt_at=row.next_attempt_at if row.state == ReportState.PENDING.value else None,
        destination_configured=destinations is None or row.connection in destinations,
    )


async def item_views(
    db: AsyncConnection, rows: Sequence[work.ItemRow], logs_url: str
) -> list[ItemView]:
    """The items with their builds (every attempt), read in one query."""
    by_item: dict[int, list[BuildView]] = {row.id: [] for row in rows}
    for build in await work.builds_of_items(db, list(by_item)):
        by_item[build.item_id].append(_build(build, logs_url))
    return [_item(row, by_item[row.id]) for row in rows]


def _item(row: work.ItemRow, item_builds: list[BuildView]) -> ItemView:
    return ItemView(
        id=row.id,
        pipeline=row.pipeline,
        connection=row.connection,
        project=row.project,
        branch=row.branch,
        change=row.change_number,
        patchset=row.patchset,
        state=row.state,
        enqueued_at=row.created_at,
        why=why(load_event(row.event)),
        detail=row.detail,
        builds=item_builds,
    )


def _build(row: work.BuildRow, logs_url: str) -> BuildView:
    return BuildView(
        id=row.id,
        job=row.job,
        attempt=row.attempt,
        voting=row.voting,
        state=row.state,
        result=row.result,
        node=row.node,
        started_at=row.started_at,
        finished_at=row.finished_at,
        log_url=served_log_url(logs_url, row.log_url),
        detail=row.detail,
        console_url=console_url(logs_url, row.id),
        not_before=row.not_before,
        source_away=row.source_away,
    )


def _running(item: ItemView, build: BuildView) -> RunningBuildView:
    return RunningBuildView(
        id=build.id,
        item=item.id,
        pipeline=item.pipeline,
        project=item.project,
        change=item.change,
        patchset=item.patchset,
        job=build.job,
        attempt=build.attempt,
        node=build.node,
        started_at=build.started_at,
        log_url=build.log_url,
        console_url=build.console_url,
    )


def why(event: Event) -> str:
    """The event that enqueued an item, in a few words."""
    if event.origin is Origin.OPERATOR:
        return "enqueued by an operator"
    if event.origin is Origin.TIMER:
        return f"scheduled for {datetime.fromtimestamp(event.created_on, UTC):%Y-%m-%d %H:%M} UTC"
    who = f" by {event.account.identity}" if event.account and event.account.identity else ""
    match event.type:
        case EventType.PATCHSET_CREATED:
            number = event.patchset.number if event.patchset else "?"
            return f"patchset {number} uploaded{who}"
        case EventType.COMMENT_ADDED:
            return f"comment{who}: {_quote(event.comment or '')}"
        case EventType.REF_UPDATED:
            return f"{event.ref} updated{who}"
        case _:
            return f"{event.type}{who}"


def _quote(comment: str) -> str:
    """The comment's first meaningful line ("Patch Set 2:" and votes aside), shortened."""
    lines: Iterable[str] = (line.strip() for line in comment.splitlines())
    text = next((line for line in lines if line and not line.startswith("Patch Set ")), "")
    if len(text) > WHY_COMMENT_LENGTH:
        text = text[: WHY_COMMENT_LENGTH - 1] + "…"
    return f'"{text}"'
