"""Why a candidate is, or is not, at a level: the same decision the engine makes, shown.

The candidate looked at, when none is named, is the one that would climb next: for
the first level the scenario's newest candidate, above it the candidate the level
below holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.promotion import CandidateResult, LevelPointer, Verdict, decide
from crosscheck.model.scenario import Scenario
from crosscheck.store import evidence
from crosscheck.store import promotion as store

#: The shortest candidate id prefix accepted where a candidate is named.
MIN_PREFIX = 7


class ExplainError(LookupError):
    """The scenario, level or candidate named cannot be explained; says what to name."""


@dataclass(frozen=True)
class Explanation:
    scenario: str
    level: str
    #: None: there is no candidate to look at yet.
    candidate: CandidateRecord | None
    verdict: Verdict | None
    #: When the rules promoted the candidate to this level, if they did.
    promoted_at: datetime | None
    #: The candidate the level holds now.
    holds: LevelPointer | None
    #: The results the verdict names, by id.
    results: dict[int, CandidateResult] = field(default_factory=dict)
    #: The CI accounts whose results count at this level.
    accounts: tuple[str, ...] = ()


async def explain(
    db: AsyncConnection,
    scenario: Scenario,
    level_name: str,
    candidate: str | None,
    now: datetime,
) -> Explanation:
    try:
        level = scenario.level(level_name)
    except KeyError:
        names = ", ".join(lv.name for lv in scenario.levels)
        raise ExplainError(
            f"{scenario.name} has no level {level_name!r} (levels: {names})"
        ) from None
    holds = await store.pointer(db, scenario.name, level.name)
    record = await _chosen(db, scenario, level.below, candidate)
    if record is None:
        return Explanation(scenario.name, level.name, None, None, None, holds)
    known = await evidence.evidence(db, record.id)
    reached = await store.promoted_levels(db, record.id)
    below = reached.get(level.below) if level.below is not None else None
    verdict = decide(level, record.candidate, known.for_level(level.name), below, now)
    named = {i for c in verdict.criteria for i in c.result_ids}
    results = {r.id: r for r in known.results if r.id in named}
    return Explanation(
        scenario.name,
        level.name,
        record,
        verdict,
        reached.get(level.name),
        holds,
        results,
        level.accounts,
    )


async def _chosen(
    db: AsyncConnection, scenario: Scenario, below: str | None, candidate: str | None
) -> CandidateRecord | None:
    if candidate is not None:
        return await find_candidate(db, scenario.name, candidate)
    if below is None:
        newest = await store.newest_candidates(db, scenario.name, 1)
        return newest[0] if newest else None
    held = await store.pointer(db, scenario.name, below)
    return await store.candidate(db, held.candidate) if held is not None else None


async def find_candidate(db: AsyncConnection, scenario: str, given: str) -> CandidateRecord:
    """The scenario's candidate whose id is, or starts with, `given`."""
    given = given.lower()
    if len(given) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in given):
        raise ExplainError(
            f"{given!r} is not a candidate id: give its {MIN_PREFIX} first hex digits or more"
        )
    found = await store.candidates_starting(db, scenario, given)
    if not found:
        raise ExplainError(f"{scenario} has no candidate {given}")
    if len(found) > 1:
        raise ExplainError(f"{given} names {len(found)} candidates of {scenario}: give more digits")
    return found[0]
