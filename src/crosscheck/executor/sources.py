"""Where a build fetches each connection's projects from: the connection's mirror, with
its credentials when it has any. A build may fetch from several connections (a
candidate's components, a scenario's, changes on another Gerrit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crosscheck.executor.git import Git, GitError, secret_free, short_reason
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.workspace import GerritRemote


@dataclass(frozen=True)
class Sources:
    """Where a build fetches each connection's projects from, and with which git."""

    mirrors: MirrorCache
    remotes: Mapping[str, GerritRemote]
    git_for: Callable[[str | None], Git]

    def remote(self, connection: str) -> GerritRemote:
        remote = self.remotes.get(connection)
        if remote is None:
            raise GitError(f"connection {connection!r} is not configured")
        return remote

    async def mirror(
        self,
        connection: str,
        project: str,
        refs: Sequence[str] = (),
        *,
        holding: str | None = None,
    ) -> Path:
        """The project's mirror, updated with `refs`; not fetched at all when it holds
        the commit `holding` already and no ref is wanted."""
        remote = self.remote(connection)
        url = remote.fetch_url(project)
        if holding is not None and not refs:
            git = self.git_for(connection)
            held = await self.mirrors.holding(git, connection, project, url, holding)
            if held is not None:
                return held
        try:
            return await self.mirrors.update(
                self.git_for(connection), connection, project, url, refs
            )
        except GitError as error:
            reason = short_reason(error.stderr) if error.stderr else str(error)
            what = ", ".join(refs) or "the branches"
            raise GitError(
                f"git fetch of {what} from {secret_free(url)}: {reason}",
                error.returncode,
                error.stderr,
            ) from error
