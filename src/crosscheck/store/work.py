"""The engine's work in the store: items and builds, and every statement on them.

Items and builds are what crosscheck's engine does; the scheduler moves them, the
operator API, the status, the metrics and the demo read them. They have one door,
this module, so that what comes next (promotion, live status, lab nodes, the Checks
tab) adds no second one. Each change of state goes through a function here that names
the states it moves from (`crosscheck.model.states`), checks the move is allowed,
and records it on the connection for the transitions hub (`store.transitions`),
which publishes it once the transaction committed.

Every decision is written here before it is acted on, so that after a crash the
scheduler resumes from the database alone. A conditional move is one UPDATE per
state it moves from, so each moved row's previous state is known exactly, even with
another transaction moving the same rows.

What a pipeline's manager decides (what an enqueue supersedes, whether an item waits
its turn) is the scheduler's; this module answers its questions and makes the moves.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.build import BuildOutcome, BuildResult
from crosscheck.model.events import PROMOTION, Event
from crosscheck.model.states import (
    ACTIVE_ITEM_STATES,
    ENDED_EARLY_STATES,
    LIVE_BUILD_STATES,
    BuildState,
    BuildTransition,
    ItemState,
    ItemTransition,
    check_build_move,
    check_item_move,
)
from crosscheck.store.event_codec import dump_event
from crosscheck.store.tables import builds, items, seen_events
from crosscheck.store.transitions import record, recording

#: The result of a build a restart found running (no `BuildResult`: no executor gave it).
INTERRUPTED = "INTERRUPTED"

#: The active and live states in their declared order: a move from any of them tries
#: each in turn, and the order keeps the moves it records the same on every run.
_ACTIVE = tuple(state for state in ItemState if state in ACTIVE_ITEM_STATES)
_LIVE = tuple(state for state in BuildState if state in LIVE_BUILD_STATES)


@dataclass(frozen=True)
class ItemRow:
    id: int
    pipeline: str
    connection: str
    project: str
    branch: str
    change_number: int | None
    patchset: int | None
    revision: str | None
    event: str
    state: ItemState
    created_at: datetime
    detail: str | None = None
    #: What it was planned with, as JSON (model/item_context.py); None: nothing more.
    context: str | None = None


@dataclass(frozen=True)
class BuildRow:
    id: str
    item_id: int
    job: str
    attempt: int
    voting: bool
    state: BuildState
    result: str | None = None
    node: str | None = None
    log_url: str | None = None
    detail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    not_before: datetime | None = None
    #: It ended because Gerrit was away when it fetched the source (not one of the
    #: job's attempts).
    source_away: bool = False


@dataclass(frozen=True)
class EndedItem:
    """An item ended early, and how many of its builds that canceled."""

    id: int
    pipeline: str
    canceled: int


def now() -> datetime:
    return datetime.now(UTC)


def new_build_id() -> str:
    return uuid.uuid4().hex


def branch_of(event: Event) -> str:
    """The branch an event's item is about: its change's, or the ref's it updated; a
    candidate's item is about the level it was taken at."""
    if event.candidate is not None:
        return event.candidate.level
    if event.change is not None:
        return event.change.branch
    ref = event.ref or ""
    return ref.removeprefix("refs/heads/")


# -- items: reads ------------------------------------------------------------------------


async def active_item(
    db: AsyncConnection, pipeline: str, connection: str, change: int, patchset: int | None
) -> int | None:
    """The id of the item queued for this patchset in the pipeline, if one is."""
    row = await db.scalar(
        select(items.c.id)
        .where(items.c.pipeline == pipeline)
        .where(items.c.connection == connection)
        .where(items.c.change_number == change)
        .where(items.c.patchset == patchset)
        .where(items.c.state.in_(ACTIVE_ITEM_STATES))
        .limit(1)
    )
    return int(row) if row is not None else None


async def older_patchset_items(
    db: AsyncConnection, pipeline: str, connection: str, change: int, patchset: int
) -> list[int]:
    """The active items of the change's patchsets before `patchset` in the pipeline."""
    ids = await db.scalars(
        select(items.c.id)
        .where(items.c.pipeline == pipeline)
        .where(items.c.connection == connection)
        .where(items.c.change_number == change)
        .where(items.c.patchset < patchset)
        .where(items.c.state.in_(ACTIVE_ITEM_STATES))
    )
    return list(ids)


async def new_items_of_branch(
    db: AsyncConnection, pipeline: str, connection: str, project: str, branch: str
) -> list[int]:
    """The items of a project's branch in the pipeline still waiting to be planned."""
    ids = await db.scalars(
        select(items.c.id)
        .where(items.c.pipeline == pipeline)
        .where(items.c.connection == connection)
        .where(items.c.project == project)
        .where(items.c.branch == branch)
        .where(items.c.state == ItemState.NEW)
    )
    return list(ids)


async def older_running(db: AsyncConnection, item: ItemRow) -> bool:
    """Whether an older item of the item's pipeline, project and branch still runs."""
    row = await db.scalar(
        select(items.c.id)
        .where(items.c.pipeline == item.pipeline)
        .where(items.c.connection == item.connection)
        .where(items.c.project == item.project)
        .where(items.c.branch == item.branch)
        .where(items.c.state == ItemState.RUNNING)
        .where(items.c.id < item.id)
        .limit(1)
    )
    return row is not None


async def items_in(db: AsyncConnection, *states: ItemState) -> list[ItemRow]:
    rows = await db.execute(select(items).where(items.c.state.in_(states)).order_by(items.c.id))
    return [_item(row) for row in rows]


async def item(db: AsyncConnection, item_id: int) -> ItemRow:
    """An item known to exist (a build's, or one just written)."""
    found = await find_item(db, item_id)
    if found is None:
        raise LookupError(f"item {item_id} does not exist")
    return found


async def find_item(db: AsyncConnection, item_id: int) -> ItemRow | None:
    row = (await db.execute(select(items).where(items.c.id == item_id))).one_or_none()
    return _item(row) if row is not None else None


async def ended_early_since(db: AsyncConnection, since: datetime) -> list[int]:
    """Items of a patchset superseded or dequeued since `since`, oldest first."""
    query = (
        select(items.c.id)
        .where(items.c.state.in_(ENDED_EARLY_STATES))
        .where(items.c.finished_at >= since)
        .where(items.c.change_number.is_not(None))
        .order_by(items.c.id)
    )
    return list(await db.scalars(query))


async def items_by_id(db: AsyncConnection, item_ids: list[int]) -> list[ItemRow]:
    """The items with these ids, in id order, in one query."""
    query = select(items).where(items.c.id.in_(item_ids)).order_by(items.c.id)
    return [_item(row) for row in await db.execute(query)]


async def active_items_of_change(
    db: AsyncConnection,
    pipeline: str,
    change: int,
    patchset: int | None = None,
    connection: str | None = None,
) -> list[ItemRow]:
    """Items still moving for a change in a pipeline; every patchset when `patchset` is
    None, on every connection when `connection` is None."""
    query = (
        select(items)
        .where(items.c.pipeline == pipeline)
        .where(items.c.change_number == change)
        .where(items.c.state.in_(ACTIVE_ITEM_STATES))
        .order_by(items.c.id)
    )
    if patchset is not None:
        query = query.where(items.c.patchset == patchset)
    if connection is not None:
        query = query.where(items.c.connection == connection)
    return [_item(row) for row in await db.execute(query)]


async def newest_patchset(
    db: AsyncConnection, connection: str, project: str, change: int
) -> int | None:
    """The newest patchset of a change the store knows: from its items in any pipeline,
    and from the patchset-created events seen (whose key starts with the connection,
    the type, the project, the change and the patchset: `Event.key`)."""
    from_items = await db.scalar(
        select(func.max(items.c.patchset))
        .where(items.c.connection == connection)
        .where(items.c.change_number == change)
    )
    prefix = f"{connection}|patchset-created|{project}|{change}|"
    keys = await db.scalars(
        select(seen_events.c.event_key)
        .where(seen_events.c.connection == connection)
        .where(seen_events.c.event_key.startswith(prefix, autoescape=True))
    )
    seen = [int(part) for key in keys if (part := key[len(prefix) :].split("|", 1)[0]).isdigit()]
    known = [n for n in (from_items, *seen) if n is not None]
    return max(known) if known else None


async def count_items(db: AsyncConnection) -> dict[tuple[str, ItemState], int]:
    """Active items, counted per pipeline and state."""
    query = (
        select(items.c.pipeline, items.c.state, func.count())
        .where(items.c.state.in_(ACTIVE_ITEM_STATES))
        .group_by(items.c.pipeline, items.c.state)
    )
    rows = await db.execute(query)
    return {(pipeline, ItemState(state)): int(n) for pipeline, state, n in rows}


def count_active_items(db: Connection) -> int:
    """Active items, counted on a synchronous connection (the demo peeks into the
    store of a serve it started, from code that awaits nothing)."""
    query = select(func.count()).select_from(items).where(items.c.state.in_(ACTIVE_ITEM_STATES))
    return int(db.scalar(query) or 0)


def _item(row: Any) -> ItemRow:
    return ItemRow(
        id=row.id,
        pipeline=row.pipeline,
        connection=row.connection,
        project=row.project,
        branch=row.branch,
        change_number=row.change_number,
        patchset=row.patchset,
        revision=row.revision,
        event=row.event,
        state=ItemState(row.state),
        created_at=row.created_at,
        detail=row.detail,
        context=row.context,
    )


# -- items: moves ------------------------------------------------------------------------


async def add_item(db: AsyncConnection, pipeline: str, event: Event) -> int:
    """A new item for the event in the pipeline; its id."""
    change = event.change.number if event.change else None
    patchset = event.patchset.number if event.patchset else None
    project, at = event.project or "", now()
    key = (
        await db.execute(
            insert(items).values(
                pipeline=pipeline,
                connection=event.connection,
                project=project,
                branch=branch_of(event),
                change_number=change,
                patchset=patchset,
                revision=_revision(event),
                event=dump_event(event),
                state=ItemState.NEW,
                created_at=at,
            )
        )
    ).inserted_primary_key
    if key is None:  # pragma: no cover - an insert always has one
        raise RuntimeError("the database returned no id for a new item")
    item_id = int(key[0])
    created = ItemTransition(
        item_id=item_id,
        pipeline=pipeline,
        connection=event.connection,
        project=project,
        change=change,
        patchset=patchset,
        from_state=None,
        to_state=ItemState.NEW,
        at=at,
    )
    record(db, created)
    return item_id


def _revision(event: Event) -> str | None:
    """A patchset's commit, or a candidate's id: what an item of the same thing shares."""
    if event.candidate is not None:
        return event.candidate.id
    return event.patchset.revision if event.patchset else None


async def candidate_tested(db: AsyncConnection, pipeline: str, candidate: str) -> bool:
    """Whether the pipeline has had an item of this candidate (in any state): a pipeline
    tests a candidate once."""
    row = await db.scalar(
        select(items.c.id)
        .where(items.c.pipeline == pipeline)
        .where(items.c.connection == PROMOTION)
        .where(items.c.revision == candidate)
        .limit(1)
    )
    return row is not None


async def plan_item(
    db: AsyncConnection,
    item_id: int,
    state: ItemState,
    detail: str = "",
    *,
    context: str | None = None,
) -> bool:
    """Move a `new` item on (running; finished when no job applies; skipped) unless
    something (a new patchset, a dequeue) ended it while it was planned; whether this
    call did. `context` is what its builds are made with (Depends-On, scenarios)."""
    at = now()
    values: dict[str, Any] = {"detail": detail or None, "context": context}
    if state not in ACTIVE_ITEM_STATES:
        values["finished_at"] = at
    new = (ItemState.NEW,)
    return bool(await _move_items(db, items.c.id == item_id, new, state, values=values, at=at))


async def claim_finish(db: AsyncConnection, item_id: int, detail: str) -> bool:
    """Finish a running item unless something (a new patchset, a dequeue) ended it
    first; whether this call finished it."""
    at = now()
    values = {"detail": detail, "finished_at": at}
    moved = await _move_items(
        db, items.c.id == item_id, (ItemState.RUNNING,), ItemState.FINISHED, values=values, at=at
    )
    return bool(moved)


async def end_items(
    db: AsyncConnection, ids: Sequence[int], state: ItemState, detail: str
) -> list[int]:
    """Stop items early (superseded, dequeued): their live builds are canceled. Items
    that ended meanwhile (finished, reported) are left as they are; returns the ids
    this call ended."""
    ended, _ = await _end(db, ids, state, detail)
    return ended


async def end_change(
    db: AsyncConnection, connection: str, change: int, state: ItemState, detail: str
) -> list[EndedItem]:
    """End every active item of a change on a connection, in every pipeline (the
    change was abandoned or merged); their live builds are canceled."""
    rows = (
        await db.execute(
            select(items.c.id, items.c.pipeline)
            .where(items.c.connection == connection)
            .where(items.c.change_number == change)
            .where(items.c.state.in_(ACTIVE_ITEM_STATES))
            .order_by(items.c.id)
        )
    ).all()
    ended, canceled = await _end(db, [row.id for row in rows], state, detail)
    done = set(ended)
    return [EndedItem(r.id, r.pipeline, canceled[r.id]) for r in rows if r.id in done]


async def _end(
    db: AsyncConnection, ids: Sequence[int], state: ItemState, detail: str
) -> tuple[list[int], Counter[int]]:
    """The ids ended, in the order given, and the builds canceled per item."""
    if not ids:
        return [], Counter()
    at = now()
    values = {"detail": detail, "finished_at": at}
    condition = items.c.id.in_(ids)
    moved = await _move_items(db, condition, _ACTIVE, state, values=values, at=at, publish=False)
    ended = [item_id for item_id in ids if item_id in moved]
    record(db, *(moved[item_id] for item_id in ended))
    if not ended:
        return [], Counter()
    values = {"result": BuildResult.CANCELED.value, "detail": detail, "finished_at": at}
    condition = builds.c.item_id.in_(ended)
    canceled = await _move_builds(db, condition, _LIVE, BuildState.CANCELED, values=values, at=at)
    return ended, Counter(move.item_id for move in canceled)


_ITEM_KEYS = (
    items.c.id,
    items.c.pipeline,
    items.c.connection,
    items.c.project,
    items.c.change_number,
    items.c.patchset,
    items.c.detail,
)


async def _move_items(
    db: AsyncConnection,
    condition: ColumnElement[bool],
    from_states: Iterable[ItemState],
    to_state: ItemState,
    *,
    values: dict[str, Any],
    at: datetime,
    publish: bool = True,
) -> dict[int, ItemTransition]:
    """Move the items matching `condition` that are in one of `from_states`; the moves
    by item id, recorded for the hub unless the caller orders them itself."""
    moved: dict[int, ItemTransition] = {}
    for from_state in from_states:
        check_item_move(from_state, to_state)
        rows = await db.execute(
            update(items)
            .where(condition)
            .where(items.c.state == from_state)
            .values(state=to_state, **values)
            .returning(*_ITEM_KEYS)
        )
        for r in rows:
            moved[r.id] = ItemTransition(
                item_id=r.id,
                pipeline=r.pipeline,
                connection=r.connection,
                project=r.project,
                change=r.change_number,
                patchset=r.patchset,
                from_state=from_state,
                to_state=to_state,
                at=at,
                detail=r.detail,
            )
    if publish:
        record(db, *moved.values())
    return moved


# -- builds: reads -----------------------------------------------------------------------


async def find_build(db: AsyncConnection, build_id: str) -> BuildRow | None:
    """One build by its id (a console page's), or None."""
    row = (await db.execute(select(builds).where(builds.c.id == build_id))).one_or_none()
    return _build(row) if row is not None else None


async def builds_in(db: AsyncConnection, state: BuildState) -> list[BuildRow]:
    rows = await db.execute(select(builds).where(builds.c.state == state).order_by(builds.c.id))
    return [_build(row) for row in rows]


async def due_builds(db: AsyncConnection, at: datetime) -> list[BuildRow]:
    """The waiting builds whose not-before time (if any) has come by `at`, by item."""
    rows = await db.execute(
        select(builds)
        .where(builds.c.state == BuildState.WAITING)
        .where(or_(builds.c.not_before.is_(None), builds.c.not_before <= at))
        .order_by(builds.c.item_id)
    )
    return [_build(row) for row in rows]


async def next_not_before(db: AsyncConnection, at: datetime) -> datetime | None:
    """The earliest time after `at` a waiting build may start, if one waits for a time."""
    earliest: datetime | None = await db.scalar(
        select(func.min(builds.c.not_before))
        .where(builds.c.state == BuildState.WAITING)
        .where(builds.c.not_before > at)
    )
    return earliest


async def canceled_among(db: AsyncConnection, build_ids: Iterable[str]) -> set[str]:
    """Those of the builds that were canceled."""
    ids = await db.scalars(
        select(builds.c.id)
        .where(builds.c.id.in_(list(build_ids)))
        .where(builds.c.state == BuildState.CANCELED)
    )
    return set(ids)


async def builds_of_items(db: AsyncConnection, item_ids: Sequence[int]) -> list[BuildRow]:
    """Every attempt of the items' builds, by item, job and attempt, in one query."""
    if not item_ids:
        return []
    rows = await db.execute(
        select(builds)
        .where(builds.c.item_id.in_(list(item_ids)))
        .order_by(builds.c.item_id, builds.c.job, builds.c.attempt)
    )
    return [_build(row) for row in rows]


async def count_builds(db: AsyncConnection) -> dict[BuildState, int]:
    """Live builds, counted per state."""
    rows = await db.execute(
        select(builds.c.state, func.count())
        .where(builds.c.state.in_(LIVE_BUILD_STATES))
        .group_by(builds.c.state)
    )
    return {BuildState(state): int(n) for state, n in rows}


def _build(row: Any) -> BuildRow:
    return BuildRow(
        id=row.id,
        item_id=row.item_id,
        job=row.job,
        attempt=row.attempt,
        voting=bool(row.voting),
        state=BuildState(row.state),
        result=row.result,
        node=row.node,
        log_url=row.log_url,
        detail=row.detail,
        started_at=row.started_at,
        finished_at=row.finished_at,
        not_before=row.not_before,
        source_away=bool(row.source_away),
    )


# -- builds: moves -----------------------------------------------------------------------


async def add_builds(
    db: AsyncConnection,
    item_id: int,
    jobs: Sequence[tuple[str, bool]],
    attempt: int = 1,
    not_before: datetime | None = None,
) -> list[str]:
    """Waiting builds of the item's jobs, their ids in the jobs' order; none starts before
    `not_before` (when given)."""
    if not jobs:
        return []
    rows = [
        {
            "id": new_build_id(),
            "item_id": item_id,
            "job": name,
            "attempt": attempt,
            "voting": int(voting),
            "state": BuildState.WAITING,
            "not_before": not_before,
        }
        for name, voting in jobs
    ]
    # One statement for all of them: an item of a big job matrix has hundreds.
    await db.execute(insert(builds), rows)
    if recording(db):
        pipeline = await db.scalar(select(items.c.pipeline).where(items.c.id == item_id))
        at = now()
        record(db, *(_created(row, pipeline or "", at) for row in rows))
    return [str(row["id"]) for row in rows]


def _created(row: dict[str, Any], pipeline: str, at: datetime) -> BuildTransition:
    return BuildTransition(
        build_id=row["id"],
        item_id=row["item_id"],
        pipeline=pipeline,
        job=row["job"],
        attempt=row["attempt"],
        from_state=None,
        to_state=BuildState.WAITING,
        at=at,
        not_before=row["not_before"],
    )


async def start_build(db: AsyncConnection, build_id: str, node: str, log_url: str) -> bool:
    """A waiting build is running on `node`; False when it was canceled meanwhile."""
    at = now()
    values = {"node": node, "log_url": log_url, "started_at": at}
    waiting = (BuildState.WAITING,)
    return await _move_build(db, build_id, waiting, BuildState.RUNNING, values=values, at=at)


async def finish_build(db: AsyncConnection, build_id: str, outcome: BuildOutcome) -> bool:
    """Record a build's outcome unless it was canceled meanwhile; whether it did."""
    values = {
        "result": outcome.result.value,
        "log_url": outcome.log_url,
        "detail": outcome.detail,
        "node": outcome.node,
        "started_at": datetime.fromtimestamp(outcome.started_at, UTC),
        "finished_at": datetime.fromtimestamp(outcome.finished_at, UTC),
        "source_away": int(outcome.source_away),
    }
    return await _move_build(db, build_id, _LIVE, BuildState.FINISHED, values=values, at=now())


async def source_away_attempts(db: AsyncConnection, item_id: int, job: str) -> int:
    """How many of an item's attempts of `job` ended because their source was away."""
    count = await db.scalar(
        select(func.count()).where(
            builds.c.item_id == item_id, builds.c.job == job, builds.c.source_away == 1
        )
    )
    return int(count or 0)


async def fail_build(db: AsyncConnection, build_id: str, result: BuildResult, detail: str) -> bool:
    """End a build that cannot run with `result`, unless it was canceled meanwhile."""
    at = now()
    values = {"result": result.value, "detail": detail, "finished_at": at}
    return await _move_build(db, build_id, _LIVE, BuildState.FINISHED, values=values, at=at)


async def interrupt_build(db: AsyncConnection, build_id: str) -> bool:
    """A build found running after a restart is interrupted, unless it ended meanwhile
    (its item superseded or dequeued while its leftovers were stopped)."""
    at = now()
    values = {"result": INTERRUPTED, "finished_at": at}
    running = (BuildState.RUNNING,)
    return await _move_build(db, build_id, running, BuildState.INTERRUPTED, values=values, at=at)


async def give_up_build(db: AsyncConnection, build_id: str, detail: str) -> bool:
    """An interrupted build whose job has no attempt left ends in an error."""
    # Its finished_at stays the interruption's: that is when it last ran.
    values = {"result": BuildResult.ERROR.value, "detail": detail}
    interrupted = (BuildState.INTERRUPTED,)
    return await _move_build(
        db, build_id, interrupted, BuildState.FINISHED, values=values, at=now()
    )


async def _move_build(
    db: AsyncConnection,
    build_id: str,
    from_states: Iterable[BuildState],
    to_state: BuildState,
    *,
    values: dict[str, Any],
    at: datetime,
) -> bool:
    """Move one build from the first of `from_states` it is in; whether it moved."""
    condition = builds.c.id == build_id
    if not recording(db):
        # Nobody reads the move: a row count, not RETURNING's rows (on SQLite a fetch
        # more from aiosqlite's thread, twice per build of a 400-job item).
        return await _moved_count(db, condition, from_states, to_state, values) > 0
    for from_state in from_states:
        if await _move_builds(db, condition, (from_state,), to_state, values=values, at=at):
            return True
    return False


async def _moved_count(
    db: AsyncConnection,
    condition: ColumnElement[bool],
    from_states: Iterable[BuildState],
    to_state: BuildState,
    values: dict[str, Any],
) -> int:
    for from_state in from_states:
        check_build_move(from_state, to_state)
        moved = await db.execute(
            update(builds)
            .where(condition)
            .where(builds.c.state == from_state)
            .values(state=to_state, **values)
        )
        if moved.rowcount:
            return int(moved.rowcount)
    return 0


_BUILD_KEYS = (
    builds.c.id,
    builds.c.item_id,
    builds.c.job,
    builds.c.attempt,
    builds.c.result,
)
#: Only a subscriber reads a moved build's pipeline: it costs a subquery per row.
_BUILD_PIPELINE = (
    select(items.c.pipeline)
    .where(items.c.id == builds.c.item_id)
    .correlate(builds)
    .scalar_subquery()
    .label("pipeline")
)


async def _move_builds(
    db: AsyncConnection,
    condition: ColumnElement[bool],
    from_states: Iterable[BuildState],
    to_state: BuildState,
    *,
    values: dict[str, Any],
    at: datetime,
) -> list[BuildTransition]:
    """Move the builds matching `condition` that are in one of `from_states`, and
    record the moves (by item, job and attempt) for the hub."""
    moved: list[BuildTransition] = []
    keys = (*_BUILD_KEYS, _BUILD_PIPELINE) if recording(db) else _BUILD_KEYS
    for from_state in from_states:
        check_build_move(from_state, to_state)
        rows = await db.execute(
            update(builds)
            .where(condition)
            .where(builds.c.state == from_state)
            .values(state=to_state, **values)
            .returning(*keys)
        )
        moved += [
            BuildTransition(
                build_id=r.id,
                item_id=r.item_id,
                pipeline=getattr(r, "pipeline", None) or "",
                job=r.job,
                attempt=r.attempt,
                from_state=from_state,
                to_state=to_state,
                at=at,
                result=r.result,
            )
            for r in rows
        ]
    moved.sort(key=lambda move: (move.item_id, move.job, move.attempt))
    record(db, *moved)
    return moved
