"""Following `Depends-On:` footers from a change to every change it needs, on any Gerrit.

The walk is depth first, so the result comes deepest first: each change after what it
depends on, in the order its workspace merges them. Each change is looked up once, at
its current patchset; a change reached twice (a diamond) is kept once. A MERGED change
is kept, but its footers are not followed: it is on its branch already, with whatever
it needed.

What the author must fix raises DependencyProblem (a cycle, a change not found or
abandoned, a footer that names no change, or names a project the change is not on, too
many changes); the caller reports it on the change instead of building. Its message is
posted on the change by the CI's account: a footer's own text goes in it only through
`shown()`; the URLs it names changes by are built from their parts. A Gerrit that
cannot answer now raises DriverError unchanged: it is never the change's fault, and the
caller tries again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from crosscheck.drivers.base import DriverNotFoundError, FoundPatchset
from crosscheck.errors import CrosscheckError
from crosscheck.model.build import patchset_ref
from crosscheck.model.depends_on import (
    ChangeRef,
    DependsOnError,
    change_url,
    depends_on_urls,
    parse_change_url,
    shown,
)
from crosscheck.model.item_context import Dependency

#: A change's CURRENT patchset on the named connection; DriverNotFoundError when the
#: change does not exist or is hidden, DriverError when the server cannot answer now.
Lookup = Callable[[str, int], Awaitable[FoundPatchset]]

#: Dependencies of one change, all levels together. A real stack is a handful; more is
#: a mistake, and each one costs a request to a Gerrit that is not ours.
MAX_DEPENDENCIES = 32


class DependencyProblem(CrosscheckError):  # noqa: N818 -- reported on the change
    """The change's `Depends-On:` footers cannot be met; the message says what to do."""


async def resolve_dependencies(
    connection: str,
    change_number: int,
    commit_message: str,
    lookup: Lookup,
    bases: Mapping[str, str],
) -> tuple[Dependency, ...]:
    """Every change the footers of `commit_message` (change `change_number` on
    `connection`) name, directly or through theirs: deepest first, each once."""
    walk = _Walk(lookup, bases)
    start = ChangeRef(connection, change_number)
    await walk.visit(start, commit_message, walk.short_url(start))
    return tuple(walk.done.values())


class _Walk:
    def __init__(self, lookup: Lookup, bases: Mapping[str, str]) -> None:
        self.lookup = lookup
        self.bases = bases
        #: Resolved changes, in the order they finished: deepest first.
        self.done: dict[ChangeRef, Dependency] = {}
        #: The changes from the triggering one down to the one being read: a footer
        #: naming one of them closes a cycle.
        self.path: list[ChangeRef] = []
        self.looked_up = 0

    async def visit(self, ref: ChangeRef, message: str, url: str) -> None:
        self.path.append(ref)
        for value, needed in self._footers(message, url):
            if needed in self.path:
                raise DependencyProblem(self._cycle_message(needed, url))
            if needed in self.done:
                # Reached before by another footer, which may have named its project
                # rightly: this one must too.
                self._check_project(value, needed, self.done[needed].project, url)
            else:
                await self._resolve(value, needed, url)
        self.path.pop()

    async def _resolve(self, value: str, ref: ChangeRef, needed_by: str) -> None:
        found = await self._fetch(ref, needed_by)
        self._check_project(value, ref, found.change.project, needed_by)
        dependency = self._dependency(ref, found)
        if not dependency.merged:
            await self.visit(ref, found.change.commit_message, dependency.url)
        self.done[ref] = dependency

    async def _fetch(self, ref: ChangeRef, needed_by: str) -> FoundPatchset:
        self.looked_up += 1
        if self.looked_up > MAX_DEPENDENCIES:
            raise DependencyProblem(
                f"{self.short_url(self.path[0])} has too many dependencies: more than "
                f"{MAX_DEPENDENCIES} changes through its Depends-On footers; "
                "depend on fewer changes, or merge some of them first"
            )
        try:
            found = await self.lookup(ref.connection, ref.number)
        except DriverNotFoundError as error:
            raise DependencyProblem(
                f"{needed_by} depends on {self.short_url(ref)}, which is not found on "
                f"{ref.connection} (deleted, or hidden from the CI's account): "
                "fix or remove its Depends-On footer"
            ) from error
        if found.change.status == "ABANDONED":
            raise DependencyProblem(
                f"{needed_by} depends on {self._url(ref, found)}, which is abandoned: "
                "restore it or remove the Depends-On footer"
            )
        return found

    def _footers(self, message: str, url: str) -> list[tuple[str, ChangeRef]]:
        """Each footer's value, and the change it names."""
        refs = []
        for value in depends_on_urls(message):
            try:
                refs.append((value, parse_change_url(value, self.bases)))
            except DependsOnError as error:
                raise DependencyProblem(f"{url} has a bad Depends-On footer: {error}") from error
        return refs

    def _check_project(self, value: str, ref: ChangeRef, project: str, needed_by: str) -> None:
        """Refuses a footer whose URL names a project its change is not on: its number is
        likely a typo, or a change of another Gerrit, and building with it is a build of
        the wrong thing. Gerrit itself shows no change at such a URL."""
        if ref.project is None or ref.project == project:
            return
        raise DependencyProblem(
            f"{needed_by} has a bad Depends-On footer: {shown(value)} names project "
            f"{shown(ref.project)} but change {ref.number} on {ref.connection} is on project "
            f"{shown(project)}: fix the Depends-On footer"
        )

    def _dependency(self, ref: ChangeRef, found: FoundPatchset) -> Dependency:
        change, patchset = found.change, found.patchset
        return Dependency(
            connection=ref.connection,
            project=change.project,
            branch=change.branch,
            number=ref.number,
            patchset=patchset.number,
            revision=patchset.revision,
            ref=patchset_ref(ref.number, patchset),
            url=self._url(ref, found),
            # Any open status is NEW to the workspace: merged in, like any open change.
            status="MERGED" if change.status == "MERGED" else "NEW",
        )

    def _url(self, ref: ChangeRef, found: FoundPatchset) -> str:
        base = self.bases.get(ref.connection)
        if base is None:
            return found.change.url or self.short_url(ref)
        return change_url(base, found.change.project, ref.number)

    def short_url(self, ref: ChangeRef) -> str:
        """A change's URL before its project is known; Gerrit redirects it."""
        base = self.bases.get(ref.connection)
        return f"{base.rstrip('/')}/c/{ref.number}" if base else ref.label

    def _cycle_message(self, closing: ChangeRef, url: str) -> str:
        loop = [*self.path[self.path.index(closing) :], closing]
        labels = " -> ".join(ref.label for ref in loop)
        return (
            f"{url} has a Depends-On footer that closes a cycle ({labels}): "
            "changes cannot each be built on the other; remove one of the footers"
        )
