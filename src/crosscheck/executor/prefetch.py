"""A change fetched into its mirror while its builds are being planned.

The scheduler knows of a change tens of milliseconds before its first build starts
(its files read, its jobs planned, a node found). `Prefetcher.change` starts the
fetch of the patchset and its branch tip then: a build arriving meanwhile shares
that fetch (fetch_batches.py), a later one finds the mirror holding what it needs.
A failure is the builds' to meet and report; here it is only logged.
"""

from __future__ import annotations

import asyncio
import logging

from crosscheck.config.secrets import SecretError, http_password
from crosscheck.executor.git import Git, GitError, HttpCredentials
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.workspace import GerritRemote, change_need
from crosscheck.model.config import DEFAULT_GIT_STALL_TIME
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event

log = logging.getLogger(__name__)


class Prefetcher:
    """Starts mirror fetches ahead of builds; holds their tasks until they end."""

    def __init__(self, mirrors: MirrorCache, stall_time: int = DEFAULT_GIT_STALL_TIME) -> None:
        self._mirrors = mirrors
        self._stall_time = stall_time
        self._tasks: set[asyncio.Task[None]] = set()

    def change(
        self, event: Event, connection: GerritConnection | None
    ) -> asyncio.Task[None] | None:
        """Start fetching `event`'s patchset and branch; None when it names no patchset."""
        if event.change is None or event.patchset is None or connection is None:
            return None
        task = asyncio.create_task(self._fetch(event, connection), name="prefetch")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _fetch(self, event: Event, connection: GerritConnection) -> None:
        try:
            password = http_password(connection)
        except SecretError:
            return  # the build says so, as an outcome
        credentials = (
            HttpCredentials(connection.http_url, connection.user, password) if password else None
        )
        remote = GerritRemote(connection.name, connection.http_url, password is not None)
        project = event.change.project if event.change else ""
        try:
            git = Git(credentials, self._stall_time)
            url = remote.fetch_url(project)
            await self._mirrors.ensure(git, connection.name, project, url, change_need(event))
        except (GitError, OSError) as error:
            log.debug("prefetch of %s failed (its builds will say): %s", project, error)
