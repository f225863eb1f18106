"""Operator actions on the scheduler's queues: enqueue a change, dequeue an item.

An enqueue builds the event a trigger would have delivered (the change as Gerrit
shows it now) and writes the item as `Scheduler.accept` does, skipping only
trigger matching: from there the item takes the usual path, builds and one report.
A dequeue ends the item as a new patchset would: its live builds are canceled and
the scheduler's next pass stops them. It posts no report: the operator stopped
the work, and a vote from partial results, or a message saying nothing ran,
would only add noise on the change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace

from crosscheck.config.issues import did_you_mean
from crosscheck.drivers.base import (
    DriverError,
    DriverNotFoundError,
    FoundPatchset,
    PatchsetNotFoundError,
)
from crosscheck.executor.pool import NodePool
from crosscheck.model.config import Config
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event, Origin
from crosscheck.model.pipeline import GerritTrigger, Pipeline
from crosscheck.model.states import ItemState
from crosscheck.operator.errors import (
    ConflictError,
    GerritUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from crosscheck.operator.status import (
    ItemView,
    StatusView,
    item_views,
    node_statuses,
    read_status,
)
from crosscheck.scheduler.enqueue import enqueue_item
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.store import work

log = logging.getLogger(__name__)

DEQUEUED = "dequeued by an operator"


class Operations:
    """Reads and changes the queues of a running scheduler."""

    def __init__(self, scheduler: Scheduler, nodes: NodePool | None = None) -> None:
        self.scheduler = scheduler
        self.nodes = nodes

    async def status(self) -> StatusView:
        async with self.scheduler.engine.connect() as db:
            view = await read_status(db, self.scheduler.config(), self.scheduler.logs_url)
        if self.nodes is None:
            return view
        return replace(view, nodes=node_statuses(self.nodes))

    async def enqueue(
        self,
        pipeline_name: str,
        change: int,
        *,
        patchset: int | None = None,
        connection: str | None = None,
        project: str | None = None,
    ) -> ItemView:
        """Queue the change's patchset (the current one by default) in the pipeline."""
        config = self.scheduler.config()
        pipeline = _pipeline(config, pipeline_name)
        connection = _connection(config, pipeline, connection)
        found = await self._lookup(connection, change, patchset)
        if project is not None and project != found.change.project:
            raise InvalidRequestError(
                f"change {change} is in project '{found.change.project}', not '{project}' "
                "(leave the project out: it is read from Gerrit)"
            )
        _require_jobs(config, pipeline, connection, found.change.project, change)
        event = _event(pipeline, connection, found)
        what = f"change {change},{found.patchset.number}"
        async with self.scheduler.engine.begin() as db:
            item_id = await enqueue_item(db, pipeline, event)
            if item_id is None:
                existing = await work.active_item(
                    db, pipeline.name, connection, change, found.patchset.number
                )
                raise ConflictError(
                    f"{what} is already queued in pipeline '{pipeline.name}'"
                    + (f" as item {existing}" if existing else "")
                    + ": dequeue it first to run it again"
                )
            (view,) = await item_views(db, [await work.item(db, item_id)], self._logs_url)
        log.info("operator: %s enqueued in %s as item %d", what, pipeline.name, item_id)
        self.scheduler.wake()
        return view

    async def dequeue_item(self, item_id: int) -> ItemView:
        """End one item, whatever its change; its live builds are canceled."""
        async with self.scheduler.engine.begin() as db:
            row = await work.find_item(db, item_id)
            if row is None:
                raise NotFoundError(
                    f"there is no item {item_id} (`crosscheck status` lists the queued ones)"
                )
            if not await work.end_items(db, [item_id], ItemState.DEQUEUED, DEQUEUED):
                raise ConflictError(
                    f"item {item_id} ({_describe(row)}) is {row.state} already: nothing to dequeue"
                )
            (view,) = await item_views(db, [await work.item(db, item_id)], self._logs_url)
        log.info("operator: item %d (%s) dequeued", item_id, _describe(row))
        self.scheduler.wake()
        return view

    async def dequeue_change(
        self,
        pipeline_name: str,
        change: int,
        *,
        patchset: int | None = None,
        connection: str | None = None,
    ) -> list[ItemView]:
        """End the change's queued items in the pipeline (every patchset's when None)."""
        config = self.scheduler.config()
        if connection is not None and connection not in config.connections:
            raise NotFoundError(_unknown("connection", connection, config.connections))
        what = f"change {change}" + (f",{patchset}" if patchset is not None else "")
        async with self.scheduler.engine.begin() as db:
            rows = await work.active_items_of_change(
                db, pipeline_name, change, patchset, connection
            )
            if not rows:
                if pipeline_name not in config.pipelines:
                    raise NotFoundError(_unknown("pipeline", pipeline_name, config.pipelines))
                raise NotFoundError(
                    f"nothing to dequeue: {what} has no queued item in pipeline '{pipeline_name}'"
                )
            connections = sorted({r.connection for r in rows})
            if len(connections) > 1:
                raise ConflictError(
                    f"{what} is queued in '{pipeline_name}' from connections "
                    f"{', '.join(connections)}: give the connection"
                )
            ended = await work.end_items(db, [r.id for r in rows], ItemState.DEQUEUED, DEQUEUED)
            if not ended:
                raise ConflictError(f"nothing to dequeue: {what} ended meanwhile")
            views = await item_views(db, await work.items_by_id(db, ended), self._logs_url)
        log.info("operator: %s dequeued from %s (items %s)", what, pipeline_name, ended)
        self.scheduler.wake()
        return views

    @property
    def _logs_url(self) -> str:
        return self.scheduler.logs_url

    async def _lookup(self, connection: str, change: int, patchset: int | None) -> FoundPatchset:
        source = self.scheduler.changes.get(connection)
        settings = self.scheduler.connections.get(connection)
        if source is None or settings is None:
            raise ConflictError(
                f"connection '{connection}' was configured after crosscheck serve started: "
                "restart it to use the new connection"
            )
        try:
            return await source.find_patchset(change, patchset)
        except DriverNotFoundError as error:
            raise NotFoundError(
                f"change {change} is not on connection '{connection}', or its account "
                f"'{settings.user}' cannot see it"
            ) from error
        except PatchsetNotFoundError as error:
            raise NotFoundError(str(error)) from error
        except DriverError as error:
            raise GerritUnavailableError(
                f"cannot look change {change} up on connection '{connection}': {error}"
            ) from error


def _pipeline(config: Config, name: str) -> Pipeline:
    pipeline = config.pipelines.get(name)
    if pipeline is None:
        raise NotFoundError(_unknown("pipeline", name, config.pipelines))
    return pipeline


def _connection(config: Config, pipeline: Pipeline, name: str | None) -> str:
    """The connection asked for, else the only one the pipeline (or the CI) uses."""
    if name is not None:
        if name not in config.connections:
            raise NotFoundError(_unknown("connection", name, config.connections))
        return name
    used = {t.connection for t in pipeline.triggers if isinstance(t, GerritTrigger)}
    used |= {a.connection for a in (*pipeline.start, *pipeline.success, *pipeline.failure)}
    candidates = sorted(used & set(config.connections)) or sorted(config.connections)
    if len(candidates) != 1:
        raise InvalidRequestError(
            f"pipeline '{pipeline.name}' uses connections {', '.join(candidates) or '(none)'}: "
            "give the connection"
        )
    return candidates[0]


def _require_jobs(
    config: Config, pipeline: Pipeline, connection: str, project: str, change: int
) -> None:
    if config.jobs_for(project, connection, pipeline.name):
        return
    with_jobs = sorted({p.name for p in config.projects if p.pipelines.get(pipeline.name)})
    listing = (
        f"projects with jobs there: {', '.join(with_jobs)}"
        if with_jobs
        else "no project has jobs there"
    )
    raise InvalidRequestError(
        f"change {change} is in project '{project}', which has no jobs in pipeline "
        f"'{pipeline.name}' ({listing}): add the pipeline to the project in the configuration"
    )


def _event(pipeline: Pipeline, connection: str, found: FoundPatchset) -> Event:
    """The event a trigger would have delivered for the change in its present state."""
    change = found.change
    if change.status == "ABANDONED":
        raise ConflictError(f"change {change.number} is abandoned: restore it to enqueue it")
    kind = EventType.PATCHSET_CREATED
    if change.status == "MERGED":
        if not _triggers_on(pipeline, connection, EventType.CHANGE_MERGED):
            raise ConflictError(
                f"change {change.number} is merged, and pipeline '{pipeline.name}' runs for "
                "open changes only (it has no change-merged trigger)"
            )
        kind = EventType.CHANGE_MERGED
    return Event(
        type=kind,
        connection=connection,
        created_on=int(time.time()),
        received_at=time.time(),
        project=change.project,
        change=change,
        patchset=found.patchset,
        origin=Origin.OPERATOR,
    )


def _triggers_on(pipeline: Pipeline, connection: str, kind: EventType) -> bool:
    return any(
        isinstance(t, GerritTrigger) and t.connection == connection and kind in t.events
        for t in pipeline.triggers
    )


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    hint = did_you_mean(name, names) or f"{kind}s: {', '.join(names) or 'none'}"
    return f"unknown {kind} '{name}'; {hint}"


def _describe(row: work.ItemRow) -> str:
    if row.change_number is None:
        return f"{row.project} {row.branch} in {row.pipeline}"
    return f"change {row.change_number},{row.patchset} in {row.pipeline}"
