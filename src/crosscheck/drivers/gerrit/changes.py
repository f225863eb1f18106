"""A change and its patchsets as Gerrit's REST API describes them (ChangeInfo, RevisionInfo).

Catch-up rebuilds events from these; `crosscheck run` and operator enqueues look
one change up by number to build the event a trigger would have delivered;
`GerritChanges` tells the scheduler whether a patchset is still worth building.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from crosscheck.drivers.base import FoundPatchset, PatchsetNotFoundError
from crosscheck.drivers.gerrit.events import parse_account, parse_timestamp
from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id
from crosscheck.drivers.gerrit.watch import ChangeWatch
from crosscheck.metrics import gerrit_reads_spared
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, ChangeState, Event, Origin, PatchSet

#: Files Gerrit lists for every patchset that are not in the tree.
MAGIC_FILES = frozenset({"/COMMIT_MSG", "/MERGE_LIST", "/PATCHSET_LEVEL"})


def parse_change(data: dict[str, Any]) -> Change:
    return Change(
        project=data["project"],
        branch=data.get("branch", ""),
        number=data["_number"],
        change_id=data.get("change_id", ""),
        subject=data.get("subject", ""),
        owner=parse_account(data.get("owner")),
        topic=data.get("topic"),
        status=data.get("status", "NEW"),
        wip=bool(data.get("work_in_progress")),
        private=bool(data.get("is_private")),
        hashtags=tuple(data.get("hashtags", [])),
    )


def parse_patchset(sha: str, rev: dict[str, Any]) -> PatchSet:
    return PatchSet(
        number=rev["_number"],
        revision=sha,
        ref=rev.get("ref", ""),
        uploader=parse_account(rev.get("uploader")),
        kind=rev.get("kind", ""),
        created_on=parse_timestamp(rev.get("created")),
    )


def patchset_created(change: Change, connection: str, patchset: PatchSet, origin: Origin) -> Event:
    """The patchset-created event Gerrit sent, or would have sent, when `patchset` was
    uploaded."""
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection=connection,
        created_on=patchset.created_on,
        received_at=time.time(),
        project=change.project,
        change=change,
        patchset=patchset,
        account=patchset.uploader,
        origin=origin,
    )


async def fetch_patchset(
    rest: GerritRestClient, connection: GerritConnection, number: int, patchset: int | None = None
) -> FoundPatchset:
    """Change `number` and its patchset `patchset` (the current one when None), now.

    Raises GerritNotFoundError when Gerrit does not show the change to this account,
    PatchsetNotFoundError when the patchset does not exist.
    """
    data: dict[str, Any] = await rest.get(
        f"/changes/{number}",
        params={"o": ["ALL_REVISIONS", "ALL_COMMITS", "DETAILED_ACCOUNTS"]},
    )
    revisions: dict[str, Any] = data.get("revisions", {})
    by_number = {rev["_number"]: (sha, rev) for sha, rev in revisions.items()}
    current = revisions.get(data.get("current_revision", ""), {}).get("_number")
    wanted = patchset if patchset is not None else current
    if wanted not in by_number:
        raise PatchsetNotFoundError(number, wanted or 0, sorted(by_number))
    sha, rev = by_number[wanted]
    change = parse_change(data)
    url = f"{connection.http_url.rstrip('/')}/c/{change.project}/+/{number}"
    message = rev.get("commit", {}).get("message", "")
    change = dataclasses.replace(change, commit_message=message, url=url)
    return FoundPatchset(change, parse_patchset(sha, rev))


class GerritChanges:
    """The engine's `ChangeSource` on one Gerrit connection."""

    def __init__(
        self,
        rest: GerritRestClient,
        connection: GerritConnection,
        watch: ChangeWatch | None = None,
    ) -> None:
        self.rest = rest
        self.connection = connection
        #: The stream's view of its changes: no read when it knows enough.
        self.watch = watch

    async def find_patchset(self, number: int, patchset: int | None) -> FoundPatchset:
        return await fetch_patchset(self.rest, self.connection, number, patchset)

    async def change_state(
        self, project: str, number: int, revision: str, *, files: bool = True
    ) -> ChangeState:
        """One request: the status, the current revision and, only for it, its files.
        No request when the caller needs no files and the stream vouches for the
        revision (`ChangeWatch`)."""
        known = (
            None if files or self.watch is None else self.watch.current_patchset(number, revision)
        )
        if known is not None:
            gerrit_reads_spared.labels(self.connection.name, "planning").inc()
            return ChangeState(status="NEW", current_patchset=known, current_revision=revision)
        # Gerrit lists the files from a diff: not asked for when nobody needs them.
        options = ["CURRENT_REVISION", "CURRENT_FILES"] if files else ["CURRENT_REVISION"]
        data: dict[str, Any] = await self.rest.get(
            f"/changes/{change_id(project, number)}", params={"o": options}
        )
        current = data.get("current_revision", "")
        info: dict[str, Any] = data.get("revisions", {}).get(current, {})
        listed = _tree_files(info.get("files", {})) if files and current == revision else None
        return ChangeState(
            status=data.get("status", "NEW"),
            current_patchset=int(info.get("_number", 0)),
            current_revision=current,
            files=listed,
        )

    async def revision_files(self, project: str, number: int, revision: str) -> list[str]:
        listing = await self.rest.get(
            f"/changes/{change_id(project, number)}/revisions/{revision}/files"
        )
        return list(_tree_files(listing))


def _tree_files(listing: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name in listing if name not in MAGIC_FILES)
