"""An item's context, decided once when it is planned: the changes its `Depends-On:`
footers name (on any configured Gerrit) and the versions of the scenarios its jobs run
in. Every job of the item is built with the same, and its report says which.

A Gerrit that does not answer is never the change's fault: `DriverError` and
`VersionsError` leave the item to be planned again on a later pass.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.errors import CrosscheckError
from crosscheck.model.depends_on import depends_on_urls
from crosscheck.model.events import CandidateComponent, CandidateItem, Event, Origin
from crosscheck.model.item_context import Dependency, ItemContext, ScenarioVersions
from crosscheck.model.job import Job, JobScenario
from crosscheck.model.scenario import Scenario
from crosscheck.scheduler.candidates import components_at, held_candidate
from crosscheck.scheduler.dependencies import Lookup, resolve_dependencies

log = logging.getLogger(__name__)


class ScenarioUnavailableError(CrosscheckError):
    """A scenario's versions cannot be taken: a configured ref that does not exist. The
    configuration's fault, not the change's: reported without a vote."""


#: A scenario's component versions from its configured refs (branch tips, tags, SHAs).
RefsNow = Callable[[Scenario], Awaitable[Mapping[str, str]]]


class ContextPlanner:
    def __init__(
        self,
        engine: AsyncEngine | None,
        scenarios: Callable[[], Mapping[str, Scenario]],
        lookup: Lookup,
        bases: Callable[[], Mapping[str, str]],
        refs_now: RefsNow | None = None,
    ) -> None:
        #: Where candidates are read; None (`crosscheck run` without a store): none.
        self.engine = engine
        self.scenarios = scenarios
        self.lookup = lookup
        #: Connection name -> its Gerrit's URL, to know whose change a footer names.
        self.bases = bases
        self.refs_now = refs_now

    async def plan(self, event: Event, jobs: Sequence[Job]) -> ItemContext:
        """Raises DependencyProblem or ScenarioUnavailableError (reported instead of a
        build) or DriverError (planned again later)."""
        dependencies = await self._dependencies(event)
        wanted = dict.fromkeys(job.scenario for job in jobs if job.scenario is not None)
        scenarios = [await self._versions(w) for w in wanted]
        return ItemContext(dependencies, tuple(s for s in scenarios if s is not None))

    async def _dependencies(self, event: Event) -> tuple[Dependency, ...]:
        change = event.change
        if change is None or event.origin is Origin.PROMOTION:
            return ()
        # Stream events, catch-up and operator enqueues all carry the commit message.
        message = change.commit_message
        if not depends_on_urls(message):
            return ()
        return await resolve_dependencies(
            event.connection, change.number, message, self.lookup, self.bases()
        )

    async def _versions(self, wanted: JobScenario) -> ScenarioVersions | None:
        scenario = self.scenarios().get(wanted.name)
        if scenario is None:  # removed by a reload since the job was read
            return None
        asked = wanted.level
        held = await self._held(scenario, asked)
        if held is not None:
            # `held.level` is empty when the newest candidate was taken instead.
            level = asked if held.level else None
            return ScenarioVersions(scenario.name, level, held.id, held.components, asked)
        return ScenarioVersions(scenario.name, None, None, await self._refs(scenario), asked)

    async def _held(self, scenario: Scenario, level: str | None) -> CandidateItem | None:
        if self.engine is None:
            return None
        async with self.engine.connect() as db:
            held = await held_candidate(db, scenario, level)
            if held is None and level is not None:
                # The level holds nothing yet: the newest candidate, said in the report.
                held = await held_candidate(db, scenario, None)
        return held

    async def _refs(self, scenario: Scenario) -> tuple[CandidateComponent, ...]:
        if self.refs_now is None:
            return ()
        versions = await self.refs_now(scenario)
        log.info("%s has no candidate yet: its components at their configured refs", scenario.name)
        return components_at(scenario, versions)
