"""Promotion in the store: candidates, levels' pointers and their history; the one door.

Only this module touches the `candidates`, `level_pointers` and `promotions` tables.
It keeps two guarantees and no other rule (whether a candidate deserves a level is
`model.promotion.decide`'s to say):

- **Exactly once.** `promote` writes the promotion record and moves the level's
  pointer in the caller's transaction, and does so for one call only, even with two
  `serve` processes on one PostgreSQL. Every move of a level first locks its pointer
  row: on PostgreSQL the row is made if missing (INSERT ... ON CONFLICT DO NOTHING)
  then locked with SELECT ... FOR UPDATE, which waits for a concurrent mover to commit
  and then reads what it wrote; on SQLite that first INSERT is a write, so it takes
  the database's write lock (the driver begins SQLite's transaction lazily, at the
  first write) and every other writer waits for the commit. Behind the lock, the
  record goes in with ON CONFLICT DO NOTHING against a unique index on (scenario,
  level, candidate) for `kind = 'promote'`, and the pointer moves only by a
  conditional UPDATE on the `generation` read under the lock.
- **Never backwards.** `promote` refuses (records nothing, returns False) a candidate
  that is not newer than the one the level holds: newer is a later `created_at`,
  ties broken by id. Only an operator's `demote` or `rollback` moves a pointer back,
  and each is recorded with its reason and the pointer it replaced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.candidate import Candidate, CandidateRecord
from crosscheck.model.promotion import LevelPointer, PromotionKind, PromotionRecord
from crosscheck.store.tables import candidates, level_pointers, promotions
from crosscheck.store.upsert import upsert

#: The longest `origin` the table keeps ("merge", "timer", "operator").
MAX_ORIGIN = 20
#: An operator's reason for a move, at most (an approval's comment has the same bound).
MAX_REASON = 2000


class ConcurrentMoveError(RuntimeError):
    """The pointer moved under its lock: a bug, never a race; the transaction must roll back."""


@dataclass(frozen=True)
class _Locked:
    """A level's pointer as read under its lock."""

    candidate: str | None
    generation: int


# -- candidates ----------------------------------------------------------------------------


async def record_candidate(
    db: AsyncConnection, candidate: Candidate, origin: str, at: datetime
) -> bool:
    """Keep the candidate; True if it is new. The same id twice is one row (the first)."""
    if not origin or len(origin) > MAX_ORIGIN:
        raise ValueError(f"a candidate's origin is 1 to {MAX_ORIGIN} characters: {origin!r}")
    statement = (
        upsert(db, candidates)
        .values(
            id=candidate.id,
            scenario=candidate.scenario,
            versions=json.dumps(dict(candidate.versions), sort_keys=True),
            created_at=at,
            origin=origin,
        )
        .on_conflict_do_nothing()
        .returning(candidates.c.id)
    )
    return (await db.execute(statement)).first() is not None


async def candidate(db: AsyncConnection, candidate_id: str) -> CandidateRecord | None:
    row = (await db.execute(select(candidates).where(candidates.c.id == candidate_id))).first()
    return _candidate(row) if row is not None else None


async def unknown_candidates(db: AsyncConnection, ids: Iterable[str]) -> set[str]:
    """Those of `ids` that are not recorded candidates."""
    wanted = set(ids)
    found = await db.execute(select(candidates.c.id).where(candidates.c.id.in_(wanted)))
    return wanted - {row.id for row in found}


async def newest_candidates(
    db: AsyncConnection, scenario: str, limit: int = 50, *, origins: Sequence[str] = ()
) -> list[CandidateRecord]:
    """The scenario's newest candidates (of these origins, if any are named), newest first."""
    query = select(candidates).where(candidates.c.scenario == scenario)
    if origins:
        query = query.where(candidates.c.origin.in_(list(origins)))
    rows = await db.execute(
        query.order_by(candidates.c.created_at.desc(), candidates.c.id.desc()).limit(limit)
    )
    return [_candidate(row) for row in rows]


async def candidates_starting(
    db: AsyncConnection, scenario: str | None, prefix: str, limit: int = 2
) -> list[CandidateRecord]:
    """The candidates whose id starts with `prefix` (hex), of one scenario or of any: a
    few, if ambiguous."""
    query = select(candidates).where(candidates.c.id >= prefix, candidates.c.id < prefix + "g")
    if scenario is not None:
        query = query.where(candidates.c.scenario == scenario)
    rows = await db.execute(query.order_by(candidates.c.id).limit(limit))
    return [_candidate(row) for row in rows]


async def promoted_levels(db: AsyncConnection, candidate_id: str) -> dict[str, datetime]:
    """Level -> when the rules promoted the candidate to it (an operator's moves aside)."""
    rows = await db.execute(
        select(promotions.c.level, promotions.c.at)
        .where(promotions.c.candidate == candidate_id)
        .where(promotions.c.kind == PromotionKind.PROMOTE.value)
    )
    return {row.level: row.at for row in rows}


# -- pointers ------------------------------------------------------------------------------


async def pointer(db: AsyncConnection, scenario: str, level: str) -> LevelPointer | None:
    """The candidate the level holds now; None if it holds none (not reached, or cleared)."""
    row = (
        await db.execute(
            select(level_pointers)
            .where(level_pointers.c.scenario == scenario)
            .where(level_pointers.c.level == level)
            .where(level_pointers.c.candidate.is_not(None))
        )
    ).first()
    return _pointer(row) if row is not None else None


async def promotion_id(db: AsyncConnection, scenario: str, level: str, candidate_id: str) -> int:
    """The id of the rules' promotion of the candidate to the level (it must exist)."""
    row = (
        await db.execute(
            select(promotions.c.id).where(
                promotions.c.scenario == scenario,
                promotions.c.level == level,
                promotions.c.candidate == candidate_id,
                promotions.c.kind == PromotionKind.PROMOTE.value,
            )
        )
    ).one()
    return int(row.id)


async def held_newness(db: AsyncConnection, scenario: str) -> dict[str, tuple[datetime, str]]:
    """Level -> the newness of the candidate it holds: a candidate not newer cannot climb
    there, and the engine need not take the level's write lock to learn it."""
    rows = await db.execute(
        select(level_pointers.c.level, candidates.c.created_at, candidates.c.id)
        .join(candidates, candidates.c.id == level_pointers.c.candidate)
        .where(level_pointers.c.scenario == scenario)
    )
    return {row.level: (row.created_at, row.id) for row in rows}


async def pointers(db: AsyncConnection, scenario: str) -> dict[str, LevelPointer]:
    """Level name -> its pointer, for the scenario's levels that hold a candidate."""
    rows = await db.execute(
        select(level_pointers)
        .where(level_pointers.c.scenario == scenario)
        .where(level_pointers.c.candidate.is_not(None))
        .order_by(level_pointers.c.level)
    )
    return {row.level: _pointer(row) for row in rows}


# -- moves ---------------------------------------------------------------------------------


async def promote(
    db: AsyncConnection,
    scenario: str,
    level: str,
    candidate_id: str,
    *,
    by: str,
    evidence: Mapping[str, Sequence[int]],
    at: datetime,
) -> bool:
    """Promote the candidate to the level, in the caller's transaction.

    True for the one call that recorded the promotion and moved the pointer; False,
    with nothing written, when the candidate was promoted to the level before or is
    not newer than the candidate the level holds. The candidate must be recorded.
    """
    locked = await _lock(db, scenario, level)
    newness = await _newness(db, scenario, {candidate_id, locked.candidate or candidate_id})
    if locked.candidate is not None and newness[candidate_id] <= newness[locked.candidate]:
        return False
    inserted = await db.execute(
        upsert(db, promotions)
        .values(
            scenario=scenario,
            level=level,
            candidate=candidate_id,
            previous=locked.candidate,
            at=at,
            by=by,
            kind=PromotionKind.PROMOTE.value,
            reason="",
            evidence=_dump_evidence(evidence),
            generation=locked.generation + 1,
        )
        .on_conflict_do_nothing()
        .returning(promotions.c.id)
    )
    if inserted.first() is None:
        return False  # promoted to this level once already
    await _move(db, scenario, level, locked, to=candidate_id, at=at)
    return True


async def demote(
    db: AsyncConnection,
    scenario: str,
    level: str,
    to_candidate_id: str | None,
    *,
    by: str,
    reason: str,
    at: datetime,
) -> PromotionRecord:
    """An operator moves the level's pointer back to an older candidate (None: clears it).

    Back only: a candidate newer than the one held would be a promotion by hand, which
    the rules never saw; a level that holds nothing has nothing to demote (`rollback`
    undoes a clear). The record keeps the reason and the candidate the level held.
    """
    locked = await _lock(db, scenario, level)
    if to_candidate_id is not None:
        if locked.candidate is None:
            raise ValueError(
                f"{scenario} {level} holds no candidate: there is nothing to demote "
                "(a rollback undoes the last move)"
            )
        newness = await _newness(db, scenario, {to_candidate_id, locked.candidate})
        if newness[to_candidate_id] > newness[locked.candidate]:
            raise ValueError(
                f"candidate {to_candidate_id[:12]} is newer than the candidate "
                f"{scenario} {level} holds ({locked.candidate[:12]}): a demotion moves a "
                "level back; a newer candidate climbs when its evidence is complete"
            )
    return await _operator_move(
        db,
        scenario,
        level,
        locked,
        to=to_candidate_id,
        by=by,
        reason=reason,
        at=at,
        kind=PromotionKind.DEMOTE,
    )


async def rollback(
    db: AsyncConnection, scenario: str, level: str, *, by: str, reason: str, at: datetime
) -> PromotionRecord:
    """Move the level back to the candidate it held before its last move (undoing it)."""
    locked = await _lock(db, scenario, level)
    last = await history(db, scenario, level, limit=1)
    if not last:
        raise LookupError(f"{scenario} {level} never moved: there is nothing to roll back")
    return await _operator_move(
        db,
        scenario,
        level,
        locked,
        to=last[0].previous,
        by=by,
        reason=reason,
        at=at,
        kind=PromotionKind.ROLLBACK,
    )


async def records_by_id(db: AsyncConnection, ids: Sequence[int]) -> dict[int, PromotionRecord]:
    rows = await db.execute(select(promotions).where(promotions.c.id.in_(list(ids))))
    return {int(row.id): record_of(row) for row in rows}


async def history(
    db: AsyncConnection, scenario: str, level: str | None = None, limit: int = 100
) -> list[PromotionRecord]:
    """The scenario's moves (of one level, or all), newest first."""
    query = select(promotions).where(promotions.c.scenario == scenario)
    if level is not None:
        query = query.where(promotions.c.level == level)
    rows = await db.execute(query.order_by(promotions.c.id.desc()).limit(limit))
    return [record_of(row) for row in rows]


# -- inside ---------------------------------------------------------------------------------


async def _lock(db: AsyncConnection, scenario: str, level: str) -> _Locked:
    """Lock the level's pointer row (made empty if missing) until the transaction ends."""
    # On SQLite this write takes the database's write lock, held to the commit.
    await db.execute(
        upsert(db, level_pointers)
        .values(scenario=scenario, level=level, candidate=None, moved_at=None, generation=0)
        .on_conflict_do_nothing()
    )
    row = (
        await db.execute(
            select(level_pointers.c.candidate, level_pointers.c.generation)
            .where(level_pointers.c.scenario == scenario)
            .where(level_pointers.c.level == level)
            .with_for_update()  # PostgreSQL; SQLite holds the database's write lock already
        )
    ).one()
    return _Locked(row.candidate, int(row.generation))


async def _move(
    db: AsyncConnection,
    scenario: str,
    level: str,
    locked: _Locked,
    *,
    to: str | None,
    at: datetime,
) -> None:
    moved = await db.execute(
        update(level_pointers)
        .where(level_pointers.c.scenario == scenario)
        .where(level_pointers.c.level == level)
        .where(level_pointers.c.generation == locked.generation)
        .values(candidate=to, moved_at=at, generation=locked.generation + 1)
    )
    if moved.rowcount != 1:
        raise ConcurrentMoveError(f"{scenario} {level} moved past generation {locked.generation}")


async def _operator_move(
    db: AsyncConnection,
    scenario: str,
    level: str,
    locked: _Locked,
    *,
    to: str | None,
    by: str,
    reason: str,
    at: datetime,
    kind: PromotionKind,
) -> PromotionRecord:
    if not reason.strip():
        raise ValueError(f"a {kind.value} needs a reason")
    if len(reason) > MAX_REASON:
        raise ValueError(f"a {kind.value}'s reason is at most {MAX_REASON} characters")
    if to is not None:
        await _known(db, scenario, to)
    if to == locked.candidate:
        held = to or "no candidate"
        raise ValueError(f"{scenario} {level} holds {held} already")
    values: dict[str, Any] = {
        "scenario": scenario,
        "level": level,
        "candidate": to,
        "previous": locked.candidate,
        "at": at,
        "by": by,
        "kind": kind.value,
        "reason": reason,
        "evidence": _dump_evidence({}),
        "generation": locked.generation + 1,
    }
    inserted = await db.execute(promotions.insert().values(**values).returning(promotions))
    await _move(db, scenario, level, locked, to=to, at=at)
    return record_of(inserted.one())


async def _newness(
    db: AsyncConnection, scenario: str, ids: set[str]
) -> dict[str, tuple[datetime, str]]:
    """Each candidate's newness, in one read; each must be a recorded one of `scenario`."""
    rows = await db.execute(
        select(candidates.c.id, candidates.c.scenario, candidates.c.created_at).where(
            candidates.c.id.in_(ids)
        )
    )
    found = {}
    for row in rows:
        if row.scenario != scenario:
            raise ValueError(f"candidate {row.id} is of {row.scenario}, not {scenario}")
        found[row.id] = (row.created_at, row.id)
    missing = ids - set(found)
    if missing:
        raise LookupError(f"candidate {min(missing)} is not recorded")
    return found


async def _known(db: AsyncConnection, scenario: str, candidate_id: str) -> CandidateRecord:
    found = await candidate(db, candidate_id)
    if found is None:
        raise LookupError(f"candidate {candidate_id} is not recorded")
    if found.candidate.scenario != scenario:
        raise ValueError(
            f"candidate {candidate_id} is of {found.candidate.scenario}, not {scenario}"
        )
    return found


def _dump_evidence(evidence: Mapping[str, Sequence[int]]) -> str:
    return json.dumps(
        {name: [int(i) for i in ids] for name, ids in evidence.items()}, sort_keys=True
    )


def _candidate(row: Row[Any]) -> CandidateRecord:
    versions = json.loads(row.versions)
    return CandidateRecord(Candidate(row.scenario, versions), row.origin, row.created_at)


def _pointer(row: Row[Any]) -> LevelPointer:
    return LevelPointer(row.scenario, row.level, row.candidate, row.moved_at, int(row.generation))


def record_of(row: Row[Any]) -> PromotionRecord:
    """A `promotions` row as the model's record."""
    evidence = {name: tuple(ids) for name, ids in json.loads(row.evidence).items()}
    return PromotionRecord(
        id=int(row.id),
        scenario=row.scenario,
        level=row.level,
        kind=PromotionKind(row.kind),
        candidate=row.candidate,
        previous=row.previous,
        at=row.at,
        by=row.by,
        reason=row.reason,
        evidence=evidence,
        generation=int(row.generation),
    )
