"""The promotion engine: a candidate climbs the moment its evidence is complete.

Nothing polls. The engine is told which candidates got evidence (a result stored
through the results service, an approval given) and decides for each of them, level
by level from the first up: a level the rules promoted the candidate to before is
passed through; the first level it has not reached is decided (`model.promotion.
decide`) and, when every criterion passed, promoted in one transaction
(`store.promotion.promote`: exactly once, never backwards). A promotion may make the
level above promotable at once (its jobs may have passed already), so the climb goes
on until a level is not promotable. A level waiting only for its soak time gets a
timer at the moment the soak ends.

At start, `run` first decides for each scenario's newest candidates: evidence that
arrived while no engine ran (a kill -9 between a result and its promotion) is
promoted then, once.

Decisions are made one at a time, by one task: a burst of results on one candidate
is one decision, and SQLite sees one writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck import metrics
from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.pipeline import Pipeline
from crosscheck.model.promotion import Verdict, decide
from crosscheck.model.scenario import Scenario
from crosscheck.scheduler.candidates import enqueue_on_move
from crosscheck.store import evidence, publications
from crosscheck.store import promotion as store

log = logging.getLogger(__name__)

#: Who the records name as having promoted: the level's criteria, not a person.
BY_CRITERIA = "criteria"
#: Candidates looked at per scenario when the engine starts.
SWEEP_DEPTH = 50


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Climb:
    """What one decision on a candidate did: the levels it was promoted to, in order,
    and the verdict of the first level it could not reach (None: it reached the top)."""

    candidate: str
    promoted: tuple[str, ...] = ()
    stopped_at: Verdict | None = None


class PromotionEngine:
    def __init__(
        self,
        engine: AsyncEngine,
        scenarios: Callable[[], Mapping[str, Scenario]],
        *,
        clock: Callable[[], datetime] = _now,
        on_publication: Callable[[], None] | None = None,
        pipelines: Callable[[], Mapping[str, Pipeline]] = dict,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.scenarios = scenarios
        self.clock = clock
        #: Told after a commit that wrote publications (the publisher's wake).
        self.on_publication = on_publication
        #: The pipelines of candidates that take a level's candidate when it moves.
        self.pipelines = pipelines
        #: Told after a commit that enqueued items (the scheduler's wake).
        self.on_enqueued = on_enqueued
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def evidence_arrived(self, candidates: set[str]) -> None:
        """Decide for these candidates as soon as the engine's task is free."""
        self._pending |= candidates
        self._wake.set()

    async def run(self) -> None:
        """Decide on what arrived while no engine ran, then on every arrival, until cancelled."""
        try:
            await self.sweep()
            while True:
                await self._wake.wait()
                self._wake.clear()
                pending, self._pending = self._pending, set()
                for candidate in sorted(pending):
                    await self._decide_logged(candidate)
        finally:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()

    async def sweep(self) -> None:
        """Decide for each configured scenario's newest candidates."""
        for name in sorted(self.scenarios()):
            async with self.engine.connect() as db:
                newest = await store.newest_candidates(db, name, SWEEP_DEPTH)
            # Oldest first: a newer candidate promoted first would refuse the older.
            for record in reversed(newest):
                await self._decide_logged(record.id)

    async def _decide_logged(self, candidate: str) -> None:
        try:
            await self.climb(candidate)
        except Exception:
            # One candidate's failure (the store away) must not stop the engine: the
            # next arrival or start decides again, and a promotion is exactly once.
            log.exception("promotion: deciding for candidate %s failed", candidate[:12])

    async def climb(self, candidate_id: str) -> Climb:
        """Promote the candidate to every level its evidence earns, from the first up."""
        async with self.engine.connect() as db:
            record = await store.candidate(db, candidate_id)
            if record is None:
                return Climb(candidate_id)
            scenario = self.scenarios().get(record.candidate.scenario)
            if scenario is None:
                log.debug("promotion: %s is of no configured scenario", candidate_id[:12])
                return Climb(candidate_id)
            known = await evidence.evidence(db, candidate_id, full=False)
            reached = await store.promoted_levels(db, candidate_id)
            held = await store.held_newness(db, scenario.name)
        plan, stopped_at = self._plan(record, scenario, known, reached, held)
        promoted = await self._promote(scenario, plan) if plan else []
        # A refused promotion (a newer candidate got there first) ends the climb too.
        return Climb(candidate_id, tuple(promoted), stopped_at)

    def _plan(
        self,
        record: CandidateRecord,
        scenario: Scenario,
        known: evidence.CandidateEvidence,
        reached: dict[str, datetime],
        held: dict[str, tuple[datetime, str]],
    ) -> tuple[list[Verdict], Verdict | None]:
        """The levels the candidate may climb now, in order (each as if the one below
        were reached now), and the verdict of the level it stops at, if any."""
        plan: list[Verdict] = []
        reached = dict(reached)
        for level in scenario.levels:
            if level.name in reached:
                continue
            now = self.clock()
            below = reached.get(level.below) if level.below is not None else None
            verdict = decide(level, record.candidate, known.for_level(level.name), below, now)
            if not verdict.promotable:
                self._wake_after_soak(record.id, level.soak, below, verdict)
                return plan, verdict
            if level.name in held and held[level.name] >= record.newness:
                log.debug("promotion: %s %s holds a newer candidate", scenario.name, level.name)
                return plan, None
            plan.append(verdict)
            reached[level.name] = now
        return plan, None

    async def _promote(self, found: Scenario, plan: list[Verdict]) -> list[str]:
        """Promote through the planned levels in one transaction, up to the first the
        store refuses (promoted there before, or a newer candidate holds it); a level
        that publishes gets its publication in the same transaction."""
        scenario = found.name
        done: list[Verdict] = []
        publishing = enqueued = False
        async with self.engine.begin() as db:
            for verdict in plan:
                at = self.clock()
                moved = await store.promote(
                    db,
                    scenario,
                    verdict.level,
                    verdict.candidate,
                    by=BY_CRITERIA,
                    evidence=verdict.evidence,
                    at=at,
                )
                if not moved:
                    break
                done.append(verdict)
                if found.level(verdict.level).publish is not None:
                    made = await store.promotion_id(db, scenario, verdict.level, verdict.candidate)
                    await publications.add_publication(db, made, at)
                    publishing = True
                pipelines = self.pipelines().values()
                moved = await enqueue_on_move(db, pipelines, found, verdict.level, at.timestamp())
                enqueued = moved or enqueued
        if publishing and self.on_publication is not None:
            self.on_publication()
        if enqueued and self.on_enqueued is not None:
            self.on_enqueued()
        for verdict in done:
            metrics.promotions.labels(scenario, verdict.level).inc()
            log.info(
                "promotion: %s %s -> candidate %s (%s)",
                scenario,
                verdict.level,
                verdict.candidate[:12],
                "; ".join(c.criterion for c in verdict.criteria),
            )
        if len(done) < len(plan):
            log.info(
                "promotion: %s %s not moved to candidate %s: it was promoted there before, "
                "or the level holds a newer candidate",
                scenario,
                plan[len(done)].level,
                plan[len(done)].candidate[:12],
            )
        return [verdict.level for verdict in done]

    def _wake_after_soak(
        self,
        candidate: str,
        soak: timedelta | None,
        reached_below: datetime | None,
        verdict: Verdict,
    ) -> None:
        """A level waiting only for its soak time is decided again when the soak ends."""
        if soak is None or reached_below is None or not verdict.waits_only_for_soak:
            return
        delay = (reached_below + soak - self.clock()).total_seconds()
        previous = self._timers.pop(candidate, None)
        if previous is not None:
            previous.cancel()
        self._timers[candidate] = asyncio.get_running_loop().call_later(
            max(delay, 0.0), self.evidence_arrived, {candidate}
        )
