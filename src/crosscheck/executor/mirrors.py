"""A bare mirror per project, so each build fetches only what changed since the last one.

Mirrors live under `<git_cache>/<connection>-<server digest>/<project>.git`: the
digest of the server's URL keeps two Gerrits apart even when configurations give
their connections the same name (a sandbox per test session, say), since mixing
their histories in one mirror would merge changes onto unrelated branches. One build at a time
updates a mirror: an asyncio lock inside this process, and an advisory file lock
against other crosscheck processes (`crosscheck run` beside `crosscheck serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import quote

from crosscheck.executor.git import Git, GitError

LOCK_POLL_SECONDS = 0.1
#: Branches and tags mirrored as they are on Gerrit; deleted ones are pruned.
BRANCHES_AND_TAGS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def project_path(root: Path, project: str) -> Path:
    """`root/<project>`, refusing names that would leave `root`."""
    parts = project.split("/")
    if not project or any(part in ("", ".", "..") for part in parts):
        raise GitError(f"{project!r} is not a usable project name")
    return root.joinpath(*parts)


class MirrorCache:
    """Bare mirrors of Gerrit projects, updated on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, connection: str, project: str, url: str) -> Path:
        server = hashlib.sha256(url.removesuffix(project).encode()).hexdigest()[:12]
        base = self.root / f"{quote(connection, safe='')}-{server}"
        return project_path(base, project).with_name(project.rsplit("/", 1)[-1] + ".git")

    async def holding(
        self, git: Git, connection: str, project: str, url: str, commit: str
    ) -> Path | None:
        """The mirror, when it holds `commit` already: a pinned version needs no fetch,
        so builds go on while its server is away."""
        path = self.path_for(connection, project, url)
        if not (path / "HEAD").exists():
            return None
        try:
            await git.run("cat-file", "-e", f"{commit}^{{commit}}", cwd=path)
        except GitError:
            return None
        return path

    async def update(
        self, git: Git, connection: str, project: str, url: str, refs: Sequence[str] = ()
    ) -> Path:
        """Fetch branches, tags and `refs` (e.g. a change's ref) from `url` into the mirror."""
        path = self.path_for(connection, project, url)
        async with self._locked(path):
            if not (path / "HEAD").exists():
                path.mkdir(parents=True, exist_ok=True)
                await git.run("init", "--quiet", "--bare", str(path))
            refspecs = [*BRANCHES_AND_TAGS, *(f"+{ref}:{ref}" for ref in refs)]
            try:
                await git.run(
                    "fetch", "--quiet", "--prune", url, *refspecs, cwd=path, authenticated=True
                )
            except GitError as error:
                raise GitError(
                    f"cannot fetch {project} from Gerrit: {error}", error.returncode, error.stderr
                ) from error
        return path

    @contextlib.asynccontextmanager
    async def _locked(self, path: Path) -> AsyncIterator[None]:
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                # Polling keeps the wait cancellable; a blocking flock in a thread would not be.
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(LOCK_POLL_SECONDS)
                yield
            finally:
                os.close(fd)  # closing releases the lock
