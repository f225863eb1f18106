"""Items of pipelines of candidates: the candidate a scenario's level holds, once each.

A pipeline with `candidates: {scenario, level}` takes as its item the candidate the
level holds: when its timer fires (the scheduler turns the tick into the candidate's
event), and, with `on_move`, when the level moves (the promotion engine enqueues in
its promotion's transaction). Its event names every component at its commit, and
where builds fetch it from, so a build needs nothing else to check them out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.events import (
    CANDIDATE_EVENT,
    PROMOTION,
    CandidateComponent,
    CandidateItem,
    Event,
    Origin,
)
from crosscheck.model.pipeline import Pipeline
from crosscheck.model.scenario import Scenario
from crosscheck.scheduler.enqueue import enqueue_item
from crosscheck.store import promotion as promotion_store
from crosscheck.store import work

log = logging.getLogger(__name__)


async def candidate_event(
    db: AsyncConnection, scenario: Scenario, level: str | None, at: float, origin: Origin
) -> Event | None:
    """The event of the candidate `level` holds now (without a level, the scenario's
    newest candidate); None while there is none."""
    item = await held_candidate(db, scenario, level)
    if item is None:
        return None
    return Event(
        CANDIDATE_EVENT,
        PROMOTION,
        int(at),
        project=scenario.name,
        origin=origin,
        candidate=item,
        received_at=time.time(),
    )


async def held_candidate(
    db: AsyncConnection, scenario: Scenario, level: str | None
) -> CandidateItem | None:
    """The candidate `level` holds now (without a level, the scenario's newest), each
    component at its commit and where it lives; None while there is none."""
    record = await _taken(db, scenario.name, level)
    if record is None:
        return None
    components = components_at(scenario, record.candidate.versions)
    return CandidateItem(record.id, scenario.name, level or "", components)


def components_at(
    scenario: Scenario, versions: Mapping[str, str]
) -> tuple[CandidateComponent, ...]:
    """The scenario's components at these versions, with where each lives; a component
    `versions` has no commit for is left out."""
    return tuple(
        CandidateComponent(c.name, versions[c.name], c.connection, c.project, c.git_url)
        for c in scenario.components
        if c.name in versions
    )


async def _taken(db: AsyncConnection, scenario: str, level: str | None) -> CandidateRecord | None:
    if level is None:
        newest = await promotion_store.newest_candidates(db, scenario, 1)
        return newest[0] if newest else None
    held = await promotion_store.pointer(db, scenario, level)
    return await promotion_store.candidate(db, held.candidate) if held else None


async def enqueue_on_move(
    db: AsyncConnection,
    pipelines: Iterable[Pipeline],
    scenario: Scenario,
    level: str | None,
    at: float,
) -> bool:
    """Each pipeline of candidates with `on_move` at this level of the scenario (None: of
    its new candidates) takes the candidate, in the caller's transaction (a promotion's,
    a merge's); whether one was enqueued. The candidate's event is read once."""
    event: Event | None = None
    enqueued = False
    for pipeline in pipelines:
        source = pipeline.candidates
        if source is None or not source.on_move:
            continue
        if (source.scenario, source.level) != (scenario.name, level):
            continue
        event = event or await candidate_event(db, scenario, level, at, Origin.PROMOTION)
        if event is None:
            return enqueued
        if await enqueue_candidate(db, pipeline, event) is not None:
            enqueued = True
    return enqueued


async def enqueue_candidate(db: AsyncConnection, pipeline: Pipeline, event: Event) -> int | None:
    """An item of the event's candidate, unless the pipeline tested that candidate before."""
    candidate = event.candidate
    if candidate is None:  # pragma: no cover -- callers pass candidate events
        raise ValueError("not a candidate's event")
    if await work.candidate_tested(db, pipeline.name, candidate.id):
        log.info(
            "%s: candidate %s of %s was tested already", pipeline.name, candidate.id[:12],
            candidate.scenario,
        )  # fmt: skip
        return None
    item = await enqueue_item(db, pipeline, event)
    log.info(
        "%s: item %s for candidate %s of %s (%s)", pipeline.name, item, candidate.id[:12],
        candidate.scenario,
        f"held by {candidate.level}" if candidate.level else "new",
    )  # fmt: skip
    return item
