"""A change's workspace cloned while its mirror still fetches.

A build of a new patchset waits for its fetch from Gerrit (tens of milliseconds while
Gerrit still indexes the push), then clones the mirror (ten to fifteen). A clone that
borrows the mirror's objects (`--shared`, a local node) can be made meanwhile: the
commits the fetch brings are in the mirror's object store, so the clone sees them
too. It is used only if the branch it checked out is still the mirror's tip once the
fetch has ended (a merge may have moved it); otherwise it is removed and the build
clones as before. A clone that fails early is no failure: the build clones after the
fetch, and says what goes wrong then.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from crosscheck.executor.clones import clone_mirror
from crosscheck.executor.git import Git, GitError


@dataclass
class EarlyClone:
    """A clone under way: its task ends with the commit it checked out."""

    target: Path
    task: asyncio.Task[str]

    async def settle(self, git: Git, mirror: Path, branch: str) -> Path | None:
        """The clone, when it holds the mirror's tip of `branch` as fetched; else None,
        and the clone removed."""
        try:
            cloned: str | None = await self.task
        except (GitError, OSError):
            cloned = None
        if cloned is not None and _borrows_from(self.target, mirror):
            with contextlib.suppress(GitError):
                tip = await git.run("rev-parse", "--verify", f"refs/heads/{branch}", cwd=mirror)
                if tip.strip() == cloned:
                    return self.target
        await asyncio.to_thread(shutil.rmtree, self.target, True)
        return None

    async def abandon(self) -> None:
        """Stop the clone (the build ends before its fetch did); its directory is the
        build's work directory's, removed with it."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, GitError, OSError):
            await self.task


def _borrows_from(clone: Path, mirror: Path) -> bool:
    """Whether the clone borrows the mirror's own object store, where the fetch put
    the change. A clone made while the mirror held what a build planted there (a
    `commondir` naming another repository; the fetch undoes it) would borrow from
    elsewhere and not see the change's commits."""
    try:
        borrowed = (clone / ".git" / "objects" / "info" / "alternates").read_text()
    except OSError:
        return False
    wanted = (mirror / "objects").resolve()
    return [Path(line).resolve() for line in borrowed.split("\n") if line] == [wanted]


def start_early_clone(
    git: Git, mirror: Path, target: Path, branch: str, public_url: str
) -> EarlyClone | None:
    """Start cloning `branch` of `mirror` into `target` (`origin` pointed at
    `public_url`); None when the mirror is not there yet."""
    if not (mirror / "HEAD").exists():
        return None
    task = asyncio.create_task(_clone(git, mirror, target, branch, public_url))
    return EarlyClone(target, task)


async def _clone(git: Git, mirror: Path, target: Path, branch: str, public_url: str) -> str:
    await clone_mirror(git, mirror, target, shared=True, branch=branch)
    await git.run("remote", "set-url", "origin", public_url, cwd=target)
    return (await git.run("rev-parse", "HEAD", cwd=target)).strip()
