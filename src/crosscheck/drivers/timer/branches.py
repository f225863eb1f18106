"""The branch tips a due rule fires on, asked of each connection's `ProjectSource`.

Without `branches`, a project fires on the branch its HEAD points at; with them,
on each named branch the project has (a missing one is logged and skipped, so one
rule can name `stable/x` for projects that have it). A project that no longer
exists is skipped; any other failure is recorded, so the timer tries the
scheduled time again for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crosscheck.drivers.base import ProjectSource
from crosscheck.drivers.gerrit.errors import GerritNotFoundError
from crosscheck.drivers.timer.targets import Target
from crosscheck.errors import said

log = logging.getLogger(__name__)

#: Gerrit calls in flight at once while resolving one scheduled time.
CONCURRENCY = 8


@dataclass(frozen=True, order=True)
class BranchTip:
    connection: str
    project: str
    branch: str


class BranchResolver:
    """Resolves targets to branch tips for one scheduled time; each connection's
    project list is fetched at most once, and only when a ^regex entry needs it.

    A failure (Gerrit unreachable, an error status) costs only the projects it
    concerns: the others still fire, and `failures` says what to try again.
    """

    def __init__(
        self, sources: Mapping[str, ProjectSource], concurrency: int = CONCURRENCY
    ) -> None:
        self.sources = sources
        #: What could not be resolved -> why.
        self.failures: dict[str, str] = {}
        self._listings: dict[str, asyncio.Task[list[str]]] = {}
        self._limit = asyncio.Semaphore(concurrency)

    async def resolve(self, targets: Sequence[Target], branches: Sequence[str]) -> list[BranchTip]:
        """Every branch tip of the targets, once each (an exact entry and a ^regex
        entry may name the same project), in order."""
        found = await asyncio.gather(*(self._target_tips(t, branches) for t in targets))
        return sorted({tip for tips in found for tip in tips})

    async def _target_tips(self, target: Target, branches: Sequence[str]) -> list[BranchTip]:
        source = self.sources.get(target.connection)
        if source is None:
            log.warning(
                "timer: connection '%s' of project '%s' was added after crosscheck started: "
                "restart crosscheck to fire for it",
                target.connection,
                target.project.name,
            )
            return []
        try:
            names = await self._names(target, source)
        except Exception as error:
            self._failed(f"listing the projects of '{target.connection}'", error)
            return []
        found = await asyncio.gather(
            *(self._project_tips(source, target, name, branches) for name in names)
        )
        return [tip for tips in found for tip in tips]

    async def _names(self, target: Target, source: ProjectSource) -> list[str]:
        if not target.project.is_regex:
            return [target.project.name]
        # Several ^regex entries resolve at once: they share one listing.
        listing = self._listings.get(target.connection)
        if listing is None:
            listing = asyncio.ensure_future(self._list(source))
            self._listings[target.connection] = listing
        return [name for name in await listing if target.project.matches(name)]

    async def _list(self, source: ProjectSource) -> list[str]:
        async with self._limit:
            return await source.projects()

    async def _project_tips(
        self, source: ProjectSource, target: Target, project: str, branches: Sequence[str]
    ) -> list[BranchTip]:
        connection = target.connection
        try:
            async with self._limit:
                if not branches:
                    return [BranchTip(connection, project, await source.head_branch(project))]
                existing = set(await source.branches(project))
        except GerritNotFoundError:
            log.warning("timer: project '%s' is not on '%s': skipped", project, connection)
            return []
        except Exception as error:
            self._failed(f"project '{project}'", error)
            return []
        missing = [branch for branch in branches if branch not in existing]
        if missing:
            # Expected when one ^regex entry covers projects with different branches.
            level = logging.INFO if target.project.is_regex else logging.WARNING
            log.log(level, "timer: %s has no branch %s: skipped", project, ", ".join(missing))
        return [BranchTip(connection, project, branch) for branch in branches if branch in existing]

    def _failed(self, what: str, error: Exception) -> None:
        self.failures.setdefault(what, said(error))
