"""A workspace's clone of a mirror, in as few git processes as it takes.

On a node whose steps run on this host, in the clone itself, the clone borrows the
mirror's objects (`--shared`): nothing is copied or linked, and git never writes into
a borrowed object store, so whatever the build does to its own `.git` (gc, prune,
repack, rewriting files) stays in the workspace. A hardlinked clone, by contrast,
shares the mirror's very files. A workspace sent to another host holds its own
objects (`--local`: hardlinks here, real files in the tar the node receives).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crosscheck.executor.git import Git, GitError

#: git's words when the branch asked of `clone --branch` does not exist.
_NO_SUCH_BRANCH = "not found in upstream"


class NoSuchBranchError(GitError):
    """The mirror has no such branch."""


async def clone_mirror(
    git: Git, mirror: Path, target: Path, *, shared: bool, branch: str | None = None
) -> Path:
    """`target` cloned from `mirror`: checked out at `branch`, else not checked out."""
    target.parent.mkdir(parents=True, exist_ok=True)
    how = "--shared" if shared else "--local"
    where = ["--branch", branch] if branch else ["--no-checkout"]
    try:
        await git.run("clone", "--quiet", how, *where, str(mirror), str(target))
    except GitError as error:
        if branch and _NO_SUCH_BRANCH in error.stderr:
            raise NoSuchBranchError(str(error), error.returncode, error.stderr) from error
        raise
    return target


async def first_branch(
    git: Git, repository: Path, candidates: Sequence[str], prefix: str = "refs/remotes/origin/"
) -> str | None:
    """The first of `candidates` that `repository` has under `prefix`, or None: a clone's
    `origin` by default, a mirror's own branches with `refs/heads/`."""
    wanted = [c for c in candidates if c]
    if not wanted:
        return None
    listed = await git.run(
        "for-each-ref", "--format=%(refname)", *(prefix + c for c in wanted), cwd=repository
    )
    found = set(listed.split())
    return next((c for c in wanted if prefix + c in found), None)


async def head(git: Git, clone: Path) -> tuple[str, str]:
    """The commit checked out and its message, in one git process."""
    out = await git.run("log", "-1", "--format=%H%n%B", "HEAD", cwd=clone)
    revision, _, message = out.partition("\n")
    return revision.strip(), message.strip()
