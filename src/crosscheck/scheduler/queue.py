"""The scheduler's persistent state: items and builds, read and written in SQL.

Every decision is written here before it is acted on, so that after a crash the
scheduler resumes from the database alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.events import Event
from crosscheck.model.pipeline import Manager, Pipeline
from crosscheck.scheduler.codec import dump_event
from crosscheck.store.tables import builds, items, seen_events

#: Items still moving; the others are finished, superseded or dequeued.
ACTIVE = ("new", "running")
#: Builds that may still run.
LIVE = ("waiting", "running")


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
    state: str
    created_at: datetime
    detail: str | None = None


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


async def enqueue_item(db: AsyncConnection, pipeline: Pipeline, event: Event) -> int | None:
    """Add an item for the event unless the same patchset is already queued; supersede
    what the new item replaces. Returns the new item's id, or None."""
    change, patchset = event.change, event.patchset
    number = change.number if change else None
    ps = patchset.number if patchset else None
    if number is not None and await active_item(db, pipeline.name, event.connection, number, ps):
        return None
    if pipeline.manager is Manager.INDEPENDENT and number is not None and ps is not None:
        await _supersede(db, pipeline.name, event.connection, number, ps)
    elif pipeline.manager is Manager.SUPERCEDENT:
        await _supersede_waiting(db, pipeline.name, event)
    result = await db.execute(
        insert(items).values(
            pipeline=pipeline.name,
            connection=event.connection,
            project=event.project or "",
            branch=_branch(event),
            change_number=number,
            patchset=ps,
            revision=patchset.revision if patchset else None,
            event=dump_event(event),
            state="new",
            created_at=now(),
        )
    )
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - an insert always has one
        raise RuntimeError("the database returned no id for a new item")
    return int(key[0])


def _branch(event: Event) -> str:
    if event.change is not None:
        return event.change.branch
    ref = event.ref or ""
    return ref.removeprefix("refs/heads/")


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
        .where(items.c.state.in_(ACTIVE))
        .limit(1)
    )
    return int(row) if row is not None else None


async def _supersede(
    db: AsyncConnection, pipeline: str, connection: str, change: int, patchset: int
) -> None:
    ids = await db.scalars(
        select(items.c.id)
        .where(items.c.pipeline == pipeline)
        .where(items.c.connection == connection)
        .where(items.c.change_number == change)
        .where(items.c.patchset < patchset)
        .where(items.c.state.in_(ACTIVE))
    )
    await end_items(db, list(ids), "superseded", f"patchset {patchset} superseded it")


async def _supersede_waiting(db: AsyncConnection, pipeline: str, event: Event) -> None:
    # Supercedent: the running item finishes; a waiting one gives way to the newer.
    ids = await db.scalars(
        select(items.c.id)
        .where(items.c.pipeline == pipeline)
        .where(items.c.connection == event.connection)
        .where(items.c.project == (event.project or ""))
        .where(items.c.branch == _branch(event))
        .where(items.c.state == "new")
    )
    await end_items(db, list(ids), "superseded", "a newer item replaced it")


async def older_running(db: AsyncConnection, item: ItemRow) -> bool:
    """Whether an older item of the item's pipeline, project and branch still runs."""
    row = await db.scalar(
        select(items.c.id)
        .where(items.c.pipeline == item.pipeline)
        .where(items.c.connection == item.connection)
        .where(items.c.project == item.project)
        .where(items.c.branch == item.branch)
        .where(items.c.state == "running")
        .where(items.c.id < item.id)
        .limit(1)
    )
    return row is not None


async def claim_finish(db: AsyncConnection, item_id: int, detail: str) -> bool:
    """Finish a running item unless something (a new patchset, a dequeue) ended it
    first; whether this call finished it."""
    result = await db.execute(
        update(items)
        .where(items.c.id == item_id)
        .where(items.c.state == "running")
        .values(state="finished", detail=detail, finished_at=now())
    )
    return result.rowcount == 1


async def end_items(db: AsyncConnection, ids: Sequence[int], state: str, detail: str) -> list[int]:
    """Stop items early (superseded, dequeued): their live builds are canceled. Items
    that ended meanwhile (finished, reported) are left as they are; returns the ids
    this call ended."""
    if not ids:
        return []
    result = await db.execute(
        update(items)
        .where(items.c.id.in_(ids))
        .where(items.c.state.in_(ACTIVE))
        .values(state=state, detail=detail, finished_at=now())
        .returning(items.c.id)
    )
    done = set(result.scalars())
    ended = [item_id for item_id in ids if item_id in done]  # RETURNING has no order
    if ended:
        await db.execute(
            update(builds)
            .where(builds.c.item_id.in_(ended))
            .where(builds.c.state.in_(LIVE))
            .values(state="canceled", result="CANCELED", detail=detail, finished_at=now())
        )
    return ended


async def items_in(db: AsyncConnection, *states: str) -> list[ItemRow]:
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
        .where(items.c.state.in_(ACTIVE))
        .order_by(items.c.id)
    )
    if patchset is not None:
        query = query.where(items.c.patchset == patchset)
    if connection is not None:
        query = query.where(items.c.connection == connection)
    return [_item(row) for row in await db.execute(query)]


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
        state=row.state,
        created_at=row.created_at,
        detail=row.detail,
    )


async def add_builds(
    db: AsyncConnection,
    item_id: int,
    jobs: Sequence[tuple[str, bool]],
    attempt: int = 1,
    not_before: datetime | None = None,
) -> None:
    """Waiting builds of the item's jobs; none starts before `not_before` (when given)."""
    if not jobs:
        return
    # One statement for all of them: an item of a big job matrix has hundreds.
    await db.execute(
        insert(builds),
        [
            {
                "id": new_build_id(),
                "item_id": item_id,
                "job": name,
                "attempt": attempt,
                "voting": int(voting),
                "state": "waiting",
                "not_before": not_before,
            }
            for name, voting in jobs
        ],
    )


async def plan_item(db: AsyncConnection, item_id: int, state: str, detail: str = "") -> bool:
    """Move a `new` item on (running, or finished when no job applies) unless something
    (a new patchset, a dequeue) ended it while it was planned; whether this call did."""
    values: dict[str, Any] = {"state": state, "detail": detail or None}
    if state not in ACTIVE:
        values["finished_at"] = now()
    result = await db.execute(
        update(items).where(items.c.id == item_id).where(items.c.state == "new").values(**values)
    )
    return result.rowcount == 1


async def end_change(
    db: AsyncConnection, connection: str, change: int, state: str, detail: str
) -> list[EndedItem]:
    """End every active item of a change on a connection, in every pipeline (the
    change was abandoned or merged); their live builds are canceled."""
    rows = (
        await db.execute(
            select(items.c.id, items.c.pipeline)
            .where(items.c.connection == connection)
            .where(items.c.change_number == change)
            .where(items.c.state.in_(ACTIVE))
            .order_by(items.c.id)
        )
    ).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    counted = await db.execute(
        select(builds.c.item_id, func.count())
        .where(builds.c.item_id.in_(ids))
        .where(builds.c.state.in_(LIVE))
        .group_by(builds.c.item_id)
    )
    live = {int(item_id): int(count) for item_id, count in counted}
    ended = set(await end_items(db, ids, state, detail))
    return [EndedItem(r.id, r.pipeline, live.get(r.id, 0)) for r in rows if r.id in ended]


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
