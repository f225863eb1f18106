"""Nodes in the store: the one door to `node_locks`, `node_states` and `autoholds`.

A lock row is written before a build touches a node and deleted once the node is clean
again, so after a crash every row left says which build's leftovers to look for on
which node. Holds, drains and autohold requests are operators' decisions: they outlive
restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.store.tables import autoholds, node_locks, node_states
from crosscheck.store.upsert import upsert


@dataclass(frozen=True)
class NodeLock:
    node: str
    slot: int
    build_id: str
    pod: str
    run_dir: str
    locked_at: datetime


@dataclass(frozen=True)
class NodeState:
    node: str
    held_by: str | None
    hold_reason: str
    held_at: datetime | None
    hold_until: datetime | None
    kept_dir: str | None
    drained: bool


@dataclass(frozen=True)
class Autohold:
    id: int
    job: str
    project: str | None
    change_number: int | None
    remaining: int
    hold_for: int
    reason: str
    created_by: str
    created_at: datetime


async def add_locks(db: AsyncConnection, locks: Sequence[NodeLock]) -> None:
    """Raises IntegrityError when a slot is locked already: never two builds on one."""
    await db.execute(
        node_locks.insert(),
        [
            {
                "node": lock.node,
                "slot": lock.slot,
                "build_id": lock.build_id,
                "pod": lock.pod,
                "run_dir": lock.run_dir,
                "locked_at": lock.locked_at,
            }
            for lock in locks
        ],
    )


async def remove_locks(db: AsyncConnection, node: str, build_ids: Sequence[str]) -> None:
    await db.execute(
        delete(node_locks).where(node_locks.c.node == node, node_locks.c.build_id.in_(build_ids))
    )


async def locks(db: AsyncConnection) -> list[NodeLock]:
    rows = await db.execute(select(node_locks).order_by(node_locks.c.node, node_locks.c.slot))
    return [NodeLock(**row._mapping) for row in rows]


async def states(db: AsyncConnection) -> dict[str, NodeState]:
    rows = await db.execute(select(node_states))
    return {
        row.node: NodeState(
            row.node,
            row.held_by,
            row.hold_reason,
            row.held_at,
            row.hold_until,
            row.kept_dir,
            bool(row.drained),
        )
        for row in rows
    }


async def set_hold(
    db: AsyncConnection,
    node: str,
    *,
    by: str,
    reason: str,
    at: datetime,
    until: datetime | None = None,
    kept_dir: str | None = None,
) -> None:
    values = {
        "held_by": by,
        "hold_reason": reason,
        "held_at": at,
        "hold_until": until,
        "kept_dir": kept_dir,
        "updated_at": at,
    }
    await _upsert(db, node, values)


async def clear_hold(db: AsyncConnection, node: str, at: datetime) -> bool:
    """Release a node; whether it was held."""
    values = {
        "held_by": None,
        "hold_reason": "",
        "held_at": None,
        "hold_until": None,
        "kept_dir": None,
        "updated_at": at,
    }
    held = node_states.c.held_by.is_not(None)
    result = await db.execute(
        update(node_states).where(node_states.c.node == node, held).values(**values)
    )
    return result.rowcount > 0


async def set_drained(db: AsyncConnection, node: str, drained: bool, at: datetime) -> None:
    await _upsert(db, node, {"drained": drained, "updated_at": at})


async def _upsert(db: AsyncConnection, node: str, values: dict[str, object]) -> None:
    statement = upsert(db, node_states).values(node=node, hold_reason="", drained=False)
    statement = statement.values(**values)
    await db.execute(statement.on_conflict_do_update(index_elements=["node"], set_=values))


async def add_autohold(
    db: AsyncConnection,
    *,
    job: str,
    project: str | None,
    change_number: int | None,
    count: int,
    hold_for: int,
    reason: str,
    by: str,
    at: datetime,
) -> int:
    result = await db.execute(
        autoholds.insert().values(
            job=job,
            project=project,
            change_number=change_number,
            remaining=count,
            hold_for=hold_for,
            reason=reason,
            created_by=by,
            created_at=at,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def list_autoholds(db: AsyncConnection) -> list[Autohold]:
    rows = await db.execute(select(autoholds).order_by(autoholds.c.id))
    return [Autohold(**row._mapping) for row in rows]


async def delete_autohold(db: AsyncConnection, autohold_id: int) -> bool:
    result = await db.execute(delete(autoholds).where(autoholds.c.id == autohold_id))
    return result.rowcount > 0


async def claim_autohold(
    db: AsyncConnection, job: str, project: str, change_number: int | None
) -> Autohold | None:
    """The oldest request matching a failed build, one count taken from it (the request
    goes with its last count): exactly one failed build per count is held."""
    matches = (
        (autoholds.c.project.is_(None)) | (autoholds.c.project == project),
        (autoholds.c.change_number.is_(None)) | (autoholds.c.change_number == change_number),
    )
    row = (
        await db.execute(
            select(autoholds)
            .where(autoholds.c.job == job, autoholds.c.remaining > 0, *matches)
            .order_by(autoholds.c.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    claimed = await db.execute(
        update(autoholds)
        .where(autoholds.c.id == row.id, autoholds.c.remaining == row.remaining)
        .values(remaining=autoholds.c.remaining - 1)
    )
    if claimed.rowcount == 0:
        return None
    await db.execute(delete(autoholds).where(autoholds.c.id == row.id, autoholds.c.remaining <= 0))
    return Autohold(**row._mapping)
