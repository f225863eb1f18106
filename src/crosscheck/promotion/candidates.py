"""Where candidates come from: merges on a component, and operators.

A merge (Gerrit's `ref-updated` of a component's branch, or `change-merged` with its
new commit) makes the next candidate: the scenario's newest one with that component
moved, recorded in the intake's own transaction, so an event accepted once makes
its candidate once. A scenario's first candidate needs every other component's
version, which only their servers know; it is made beside the intake (`seed`), never
holding the intake's transaction open on a network call. Components pinned at a tag
or SHA never move, and a candidate an operator made with pins is never the base of a
merge's: its pins were an experiment, not the branches' state. `create` makes a
candidate on demand, from the components' refs now, with an operator's pins over them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.base import RefSource
from crosscheck.model.candidate import SHA, Candidate, CandidateOrigin, CandidateRecord
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event
from crosscheck.model.pipeline import Pipeline
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.versions import VersionsError, resolve_versions
from crosscheck.scheduler.candidates import enqueue_on_move
from crosscheck.store import promotion as store

log = logging.getLogger(__name__)

Sink = Callable[[Event, AsyncConnection], Awaitable[None]]
#: The origins of candidates that follow the components' refs (not an operator's pins).
FOLLOWING_BRANCHES = (CandidateOrigin.MERGE.value, CandidateOrigin.TIMER.value)
BRANCH_PREFIX = "refs/heads/"


@dataclass(frozen=True)
class Move:
    """One component of a scenario moved to a commit by a merge."""

    scenario: str
    component: str
    sha: str


def moves_of(event: Event, scenarios: Mapping[str, Scenario]) -> list[Move]:
    """The components, of every scenario, that this event moved (none for most events)."""
    where = _merged(event)
    if where is None:
        return []
    project, branch, sha = where
    return [
        Move(scenario.name, component.name, sha)
        for scenario in scenarios.values()
        for component in scenario.components
        if not component.pinned
        and component.connection == event.connection
        and component.project == project
        and component.ref == branch
    ]


def _merged(event: Event) -> tuple[str, str, str] | None:
    """(project, branch, new commit) of a merge or branch update; None for anything else."""
    if event.type == EventType.REF_UPDATED and event.ref_update is not None:
        update = event.ref_update
        if update.deleted or not SHA.match(update.new_rev):
            return None
        ref = update.ref
        if ref.startswith("refs/") and not ref.startswith(BRANCH_PREFIX):
            return None  # a tag, a change's ref, meta data: not a branch's tip
        return update.project, ref.removeprefix(BRANCH_PREFIX), update.new_rev
    if event.type == EventType.CHANGE_MERGED and event.change is not None:
        sha = event.extra.get("newRev", "")
        if SHA.match(sha):
            return event.change.project, event.change.branch, sha
    return None


class CandidateMaker:
    def __init__(
        self,
        engine: AsyncEngine,
        scenarios: Callable[[], Mapping[str, Scenario]],
        sources: Mapping[str, RefSource],
        git: RefSource,
        *,
        pipelines: Callable[[], Mapping[str, Pipeline]] = dict,
    ) -> None:
        self.engine = engine
        self.scenarios = scenarios
        self.sources = sources
        self.git = git
        #: The pipelines of new candidates (`candidates` without a level, `on_move`): each
        #: takes a candidate in the transaction that made it.
        self.pipelines = pipelines
        self._seeds: set[asyncio.Task[None]] = set()

    def making_candidates(self, sink: Sink) -> Sink:
        """`sink`, after recording the candidates the event's merges make, in its transaction."""

        async def accept(event: Event, connection: AsyncConnection) -> None:
            for move in moves_of(event, self.scenarios()):
                await self._moved(connection, move)
            await sink(event, connection)

        return accept

    async def create(
        self,
        scenario_name: str,
        pins: Mapping[str, str],
        origin: str = CandidateOrigin.OPERATOR,
        *,
        verify: bool = True,
    ) -> tuple[CandidateRecord, bool]:
        """A candidate of the components' versions now, pins applied (pinned commits asked
        of their servers unless `verify` is off); True if it is new."""
        scenario = self.scenarios().get(scenario_name)
        if scenario is None:
            names = ", ".join(sorted(self.scenarios())) or "none is configured"
            raise VersionsError(f"no scenario {scenario_name!r} (scenarios: {names})")
        versions = await resolve_versions(scenario, self.sources, self.git, pins, verify=verify)
        candidate = Candidate(scenario.name, versions)
        async with self.engine.begin() as db:
            now = datetime.now(UTC)
            new = await store.record_candidate(db, candidate, origin, now)
            record = await store.candidate(db, candidate.id)
            if new:
                pipelines = self.pipelines().values()
                await enqueue_on_move(db, pipelines, scenario, None, now.timestamp())
        if record is None:  # pragma: no cover -- recorded just above
            raise VersionsError(f"candidate {candidate.id} was not kept")
        return record, new

    async def _moved(self, db: AsyncConnection, move: Move) -> None:
        # An operator's pins are an experiment: a merge moves the branches' own line.
        newest = await store.newest_candidates(db, move.scenario, 1, origins=FOLLOWING_BRANCHES)
        scenario = self.scenarios().get(move.scenario)
        names = {c.name for c in scenario.components} if scenario else set()
        # A component added to the scenario since has no version in the newest one: all
        # are taken from their refs then, as for a first candidate.
        if not newest or not names <= set(newest[0].candidate.versions):
            self._seed_later(move)
            return
        candidate = newest[0].candidate.moved(move.component, move.sha)
        now = datetime.now(UTC)
        if await store.record_candidate(db, candidate, CandidateOrigin.MERGE, now):
            log.info(
                "promotion: candidate %s of %s: %s moved to %s",
                candidate.id[:12],
                move.scenario,
                move.component,
                move.sha[:12],
            )
            scenario = self.scenarios().get(move.scenario)
            if scenario is not None:
                pipelines = self.pipelines().values()
                await enqueue_on_move(db, pipelines, scenario, None, now.timestamp())

    def _seed_later(self, move: Move) -> None:
        task = asyncio.get_running_loop().create_task(self._seed(move))
        self._seeds.add(task)
        task.add_done_callback(self._seeds.discard)

    async def _seed(self, move: Move) -> None:
        """The scenario's first candidate: the merged commit, the others' refs now."""
        try:
            record, new = await self.create(
                move.scenario, {move.component: move.sha}, CandidateOrigin.MERGE
            )
        except VersionsError as error:
            log.warning(
                "promotion: no first candidate of %s after the merge on %s: %s",
                move.scenario,
                move.component,
                error,
            )
            return
        if new:
            log.info(
                "promotion: first candidate %s of %s (after a merge on %s)",
                record.id[:12],
                move.scenario,
                move.component,
            )

    async def settled(self) -> None:
        """Wait for the first candidates being made (tests, and a clean stop)."""
        while self._seeds:
            await asyncio.gather(*self._seeds, return_exceptions=True)
