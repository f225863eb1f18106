"""Placing a change and revision as Gerrit clients name them on a project, change and patchset.

Gerrit clients say `123`, `project~123` (project URL-encoded) or
`project~branch~I...`, and a revision as a patchset number, a commit id or
`current`. `StoreResolver` answers from the results stored so far;
`GerritResolver` asks the Gerrit server, which knows every change; `FallbackResolver`
asks the store first and Gerrit only for what the store does not know (a CI's first
report on a change, named by number as Buildbot does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from crosscheck.drivers.gerrit.errors import GerritError, GerritNotFoundError
from crosscheck.drivers.gerrit.rest import GerritRestClient, RetryPolicy
from crosscheck.results.errors import ResultsError, UnknownChangeError
from crosscheck.results.service import ResultsService

#: A complete or abbreviated commit id, as Gerrit accepts them (4 to 40 hex digits).
COMMIT = re.compile(r"^[0-9a-fA-F]{4,40}$")
#: Longer all-digit revisions are commit ids, not patchset numbers.
_MAX_PATCHSET_DIGITS = 9
#: Gerrit's change numbers are Java ints: 2147483647 at most.
_MAX_CHANGE = 2**31 - 1


@dataclass(frozen=True)
class PatchsetRef:
    project: str
    change: int
    patchset: int
    revision: str | None = None
    branch: str | None = None


class AmbiguousCommitError(ResultsError):
    """An abbreviated commit id that starts more than one patchset's commit."""

    status_code = 400


class LookupFailedError(UnknownChangeError):
    """Gerrit could not be asked (unreachable, an error): what the change is, is unknown."""


class ChangeResolver(Protocol):
    async def resolve(self, change_id: str, revision: str) -> PatchsetRef:
        """The patchset, or UnknownChangeError saying how to name it instead."""
        ...


def is_patchset_number(revision: str) -> bool:
    """A patchset number, not a (possibly all-digit) commit id."""
    return _ascii_digits(revision) and len(revision) <= _MAX_PATCHSET_DIGITS


def _ascii_digits(text: str) -> bool:
    # str.isdigit() is true of "²" too, which int() refuses.
    return text.isascii() and text.isdigit()


def _change_number(text: str) -> int | None:
    """The number Gerrit could have given a change, or None."""
    if not _ascii_digits(text) or len(text) > len(str(_MAX_CHANGE)):
        return None
    number = int(text)
    return number if 1 <= number <= _MAX_CHANGE else None


def split_change_id(change_id: str) -> tuple[str | None, int | None]:
    """(project, number) from `123` or `project~123`; (None, None) for other forms,
    and for numbers no Gerrit change can have."""
    number = _change_number(change_id)
    if number is not None:
        return None, number
    project, _, tail = change_id.rpartition("~")
    number = _change_number(tail)
    if project and "~" not in project and number is not None:
        return project, number
    return None, None


class StoreResolver:
    """Knows the changes and commits results were reported on.

    Alone, it takes any patchset number of a change it knows (a CI may report on a
    patchset before any other did). `known_patchsets_only`, for a resolver Gerrit backs
    up, takes those up to the newest one a result named and leaves the rest to Gerrit,
    so a result is never stored on a patchset the change does not have."""

    def __init__(self, service: ResultsService, *, known_patchsets_only: bool = False) -> None:
        self.service = service
        self.known_patchsets_only = known_patchsets_only

    async def resolve(self, change_id: str, revision: str) -> PatchsetRef:
        project, number = split_change_id(change_id)
        if number is None:
            raise UnknownChangeError(
                f"change {change_id!r}: without a Gerrit connection this service knows changes "
                f"by number: use NUMBER or PROJECT~NUMBER (1 to {_MAX_CHANGE})"
            )
        project = project or await self.service.project_of_change(number)
        if project is None:
            raise UnknownChangeError(
                f"change {number} has no results yet, so its project is unknown: "
                f"address it as PROJECT~{number} (the project URL-encoded)"
            )
        return await self._patchset(project, number, revision)

    async def _patchset(self, project: str, number: int, revision: str) -> PatchsetRef:
        if is_patchset_number(revision):
            return await self._numbered(project, number, int(revision))
        if revision == "current":
            latest = await self.service.latest_patchset(number)
            if latest is not None:
                return PatchsetRef(project, number, latest)
        elif COMMIT.match(revision):
            found = await find_commit(self.service, revision, change=number)
            if found is not None:
                return found
        raise UnknownChangeError(
            f"revision {revision!r} of change {number} is unknown here: "
            "name the patchset by its number"
        )

    async def _numbered(self, project: str, number: int, patchset: int) -> PatchsetRef:
        if self.known_patchsets_only:
            latest = await self.service.latest_patchset(number)
            if latest is None or patchset > latest:
                raise UnknownChangeError(
                    f"patchset {patchset} of change {number} is newer than any result named"
                )
        return PatchsetRef(project, number, patchset)


async def find_commit(
    service: ResultsService,
    commit: str,
    *,
    change: int | None = None,
    project: str | None = None,
) -> PatchsetRef | None:
    """The patchset of a complete or abbreviated commit id some result named; None when
    none did; AmbiguousCommitError when it starts several patchsets' commits."""
    found = [
        (p, c, ps, sha)
        for p, c, ps, sha in await service.patchsets_of_commit(commit)
        if (change is None or c == change) and (project is None or p == project)
    ]
    if not found:
        return None
    if len(found) > 1:
        listed = ", ".join(f"{sha[:12]} (change {c},{ps})" for _, c, ps, sha in found[:5])
        raise AmbiguousCommitError(
            f"commit {commit} is ambiguous: it starts {listed}; give more of its digits"
        )
    ((project_name, number, patchset, sha),) = found
    return PatchsetRef(project_name, number, patchset, sha)


class GerritResolver:
    """Asks Gerrit (`GET /changes/ID?o=ALL_REVISIONS`) where a change and revision are."""

    def __init__(self, client: GerritRestClient) -> None:
        self.client = client

    async def resolve(self, change_id: str, revision: str) -> PatchsetRef:
        try:
            change = await self.client.get(
                f"/changes/{quote(change_id, safe='~')}", params={"o": "ALL_REVISIONS"}
            )
        except GerritNotFoundError as error:
            raise UnknownChangeError(f"Gerrit has no change {change_id!r}") from error
        except GerritError as error:
            raise LookupFailedError(f"cannot look up change {change_id!r}: {error}") from error
        sha = _find_revision(change, revision)
        if sha is None:
            raise UnknownChangeError(f"change {change_id!r} has no revision {revision!r}")
        return PatchsetRef(
            project=change["project"],
            change=int(change["_number"]),
            patchset=int(change["revisions"][sha]["_number"]),
            revision=sha,
            branch=change.get("branch"),
        )


def _find_revision(change: dict[str, Any], revision: str) -> str | None:
    revisions: dict[str, Any] = change.get("revisions") or {}
    if revision == "current":
        current = change.get("current_revision")
        return current if isinstance(current, str) else None
    if is_patchset_number(revision):
        wanted = int(revision)
        return next((sha for sha, r in revisions.items() if r.get("_number") == wanted), None)
    matches = [sha for sha in revisions if sha.startswith(revision)]
    return matches[0] if len(matches) == 1 else None


class FallbackResolver:
    """The store first (no request to Gerrit for a change already reported on), then
    Gerrit, whose answer stands: it knows every change. Only when Gerrit could not be
    asked does the store's advice (how to name the change) come with the failure."""

    def __init__(self, first: ChangeResolver, then: ChangeResolver) -> None:
        self.first = first
        self.then = then

    async def resolve(self, change_id: str, revision: str) -> PatchsetRef:
        try:
            return await self.first.resolve(change_id, revision)
        except UnknownChangeError as unknown:
            try:
                return await self.then.resolve(change_id, revision)
            except LookupFailedError as failed:
                raise UnknownChangeError(f"{unknown}; and {failed}") from failed


#: A client waits on this lookup: a short timeout and one retry, not the reporter's patience.
LOOKUP_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)
LOOKUP_TIMEOUT = 10.0


def lookup_client(gerrit_url: str) -> GerritRestClient:
    """An anonymous REST client for looking changes up: Gerrit shows public changes to all."""
    return GerritRestClient(gerrit_url, timeout=LOOKUP_TIMEOUT, retry=LOOKUP_RETRY)


def resolver_for(service: ResultsService, gerrit: GerritRestClient | None) -> ChangeResolver:
    """The store alone, or the store and then Gerrit when the service knows one."""
    if gerrit is None:
        return StoreResolver(service)
    store = StoreResolver(service, known_patchsets_only=True)
    return FallbackResolver(store, GerritResolver(gerrit))
