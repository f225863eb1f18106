"""What the promotion pages show, read from the store: the board of scenarios x levels,
a scenario's timeline, a candidate's components and evidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.promotion import (
    CandidateResult,
    CriterionState,
    LevelPointer,
    ManualApproval,
    PromotionRecord,
)
from crosscheck.model.release import Release
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.explain import explain
from crosscheck.store import evidence
from crosscheck.store import promotion as store
from crosscheck.store import releases as release_store

#: A level that has not moved for this long is stuck (DLRN's 7-day rule).
STALE_AFTER = timedelta(days=7)
#: The timeline's span.
TIMELINE = timedelta(days=30)


@dataclass(frozen=True)
class BoardCell:
    level: str
    candidate: str | None
    moved_at: datetime | None
    stale: bool
    #: The next candidate to climb here, and the criteria it still waits for or failed.
    next_candidate: str | None = None
    waiting: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoardRow:
    scenario: str
    description: str
    cells: tuple[BoardCell, ...]


async def board(
    db: AsyncConnection, scenarios: Iterable[Scenario], now: datetime
) -> list[BoardRow]:
    rows = []
    for scenario in sorted(scenarios, key=lambda s: s.name):
        held = await store.pointers(db, scenario.name)
        cells = [await _cell(db, scenario, level.name, held, now) for level in scenario.levels]
        rows.append(BoardRow(scenario.name, scenario.description, tuple(cells)))
    return rows


async def _cell(
    db: AsyncConnection,
    scenario: Scenario,
    level: str,
    held: dict[str, LevelPointer],
    now: datetime,
) -> BoardCell:
    pointer = held.get(level)
    moved_at = pointer.moved_at if pointer is not None else None
    stale = moved_at is None or now - moved_at > STALE_AFTER
    shown = await explain(db, scenario, level, None, now)
    candidate = pointer.candidate if pointer is not None else None
    if shown.candidate is None or shown.verdict is None or shown.promoted_at is not None:
        return BoardCell(level, candidate, moved_at, stale)
    criteria = shown.verdict.criteria
    return BoardCell(
        level,
        candidate,
        moved_at,
        stale,
        next_candidate=shown.candidate.id,
        waiting=tuple(c.criterion for c in criteria if c.state is CriterionState.MISSING),
        failed=tuple(c.criterion for c in criteria if c.state is CriterionState.FAILED),
    )


@dataclass(frozen=True)
class Lane:
    """One level on the timeline: its moves within the span, and whether it is stuck."""

    level: str
    moves: tuple[PromotionRecord, ...]
    last_moved: datetime | None
    stale: bool


@dataclass(frozen=True)
class ScenarioPage:
    scenario: Scenario
    start: datetime
    end: datetime
    lanes: tuple[Lane, ...]
    history: tuple[PromotionRecord, ...]
    releases: tuple[Release, ...]


async def scenario_page(db: AsyncConnection, scenario: Scenario, now: datetime) -> ScenarioPage:
    history = await store.history(db, scenario.name, limit=500)
    start = now - TIMELINE
    lanes = []
    for level in scenario.levels:
        moves = [m for m in history if m.level == level.name]
        last = moves[0].at if moves else None
        lanes.append(
            Lane(
                level.name,
                tuple(m for m in moves if m.at >= start),
                last,
                last is None or now - last > STALE_AFTER,
            )
        )
    made = await release_store.scenario_releases(db, scenario.name, 20)
    return ScenarioPage(scenario, start, now, tuple(lanes), tuple(history[:50]), tuple(made))


@dataclass(frozen=True)
class CandidatePage:
    record: CandidateRecord
    scenario: Scenario | None
    reached: dict[str, datetime]
    results: tuple[CandidateResult, ...]
    approvals: dict[str, tuple[ManualApproval, ...]] = field(default_factory=dict)

    @property
    def components(self) -> list[tuple[str, str, str]]:
        """(component, where it lives, commit), in the candidate's order."""
        where = {}
        if self.scenario is not None:
            where = {c.name: c.project or c.git_url or "" for c in self.scenario.components}
        versions = self.record.candidate.versions
        return [(name, where.get(name, ""), sha) for name, sha in versions.items()]


async def candidate_page(
    db: AsyncConnection, candidate: str, scenarios: dict[str, Scenario]
) -> CandidatePage | None:
    record = await store.candidate(db, candidate)
    if record is None:
        return None
    known = await evidence.evidence(db, candidate)
    reached = await store.promoted_levels(db, candidate)
    return CandidatePage(
        record,
        scenarios.get(record.candidate.scenario),
        reached,
        tuple(reversed(known.results)),
        known.approvals,
    )
