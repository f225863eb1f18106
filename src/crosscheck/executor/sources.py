"""Where a build fetches each connection's projects from: the connection's mirror, with
its credentials when it has any. A build may fetch from several connections (a
candidate's components, a scenario's, changes on another Gerrit)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from crosscheck.executor.fetch_plan import Need
from crosscheck.executor.git import Git, GitError
from crosscheck.executor.mirrors import MirrorCache, fetch_failure
from crosscheck.executor.workspace import GerritRemote


@dataclass(frozen=True)
class Sources:
    """Where a build fetches each connection's projects from, and with which git."""

    mirrors: MirrorCache
    remotes: Mapping[str, GerritRemote]
    git_for: Callable[[str | None], Git]
    #: When the build's event happened: branch tips fetched since are fresh enough.
    since: float = math.inf
    #: Clones borrow the mirrors' objects (steps run on this host, in the clone).
    shared: bool = False

    def remote(self, connection: str) -> GerritRemote:
        remote = self.remotes.get(connection)
        if remote is None:
            raise GitError(f"connection {connection!r} is not configured")
        return remote

    async def mirror(self, connection: str, project: str, need: Need) -> Path:
        """The project's mirror, holding what `need` names (fetched only if it does not)."""
        url = self.remote(connection).fetch_url(project)
        git = self.git_for(connection)
        try:
            return await self.mirrors.ensure(git, connection, project, url, need)
        except GitError as error:
            what = ", ".join(need.named_refs) or "the branches"
            raise fetch_failure(error, what, url) from error
