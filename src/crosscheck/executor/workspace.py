"""The workspace: the change merged onto its branch tip, required projects beside it.

Every project is checked out at `<src>/<project>` (a project's `/` makes
directories), cloned from its local mirror. The clones' `origin` is then pointed
at Gerrit's anonymous URL: no credentials, and no path into crosscheck's cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crosscheck.executor.git import Git, GitError, secret_free, short_reason
from crosscheck.executor.mirrors import MirrorCache, project_path
from crosscheck.model.build import patchset_ref
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.job import RequiredProject

#: Where a project without a branch of the change's name is checked out, in this order.
DEFAULT_BRANCHES = ("master", "main")


class MergeConflictError(GitError):
    """The change does not merge onto its branch tip; `files` are the conflicting ones."""

    def __init__(self, message: str, files: Sequence[str]) -> None:
        super().__init__(message)
        self.files = tuple(files)


@dataclass(frozen=True)
class Checkout:
    """One project as the build sees it."""

    project: str
    path: Path
    #: The branch checked out, or None when detached at a tag or commit.
    branch: str | None
    revision: str


@dataclass(frozen=True)
class Workspace:
    src_root: Path
    #: The project of the change (or of the ref, or of the timer): where steps run.
    main: Checkout
    required: tuple[Checkout, ...] = ()
    commit_message: str = ""
    #: Every checkout, by project name.
    by_project: dict[str, Checkout] = field(default_factory=dict)


@dataclass(frozen=True)
class GerritRemote:
    """Where the projects of one connection are fetched from."""

    connection: str
    http_url: str
    authenticated: bool

    def fetch_url(self, project: str) -> str:
        base = self.http_url.rstrip("/")
        return f"{base}/a/{project}" if self.authenticated else f"{base}/{project}"

    def public_url(self, project: str) -> str:
        return f"{self.http_url.rstrip('/')}/{project}"


class WorkspaceBuilder:
    """Prepares workspaces from one Gerrit connection through the mirror cache."""

    def __init__(self, git: Git, mirrors: MirrorCache, remote: GerritRemote) -> None:
        self._git = git
        self._mirrors = mirrors
        self._remote = remote

    async def prepare(
        self, event: Event, required: Sequence[RequiredProject], src_root: Path
    ) -> Workspace:
        """Check out what `event` is about, then every required project beside it."""
        main = await self._main_checkout(event, src_root)
        default_branch = event.change.branch if event.change else main.branch
        others = [
            await self._required_checkout(rp, default_branch, src_root)
            for rp in required
            if rp.name != main.project
        ]
        message = await self._git.run("log", "-1", "--format=%B", main.revision, cwd=main.path)
        checkouts = {c.project: c for c in (main, *others)}
        return Workspace(src_root, main, tuple(others), message.strip(), checkouts)

    async def _main_checkout(self, event: Event, src_root: Path) -> Checkout:
        if event.change is not None and event.patchset is not None:
            return await self._merge_change(event.change, event.patchset, src_root)
        project = event.project or (event.change.project if event.change else "")
        update = event.ref_update
        if update is not None and not update.deleted:
            clone = await self._clone(project, src_root)
            branch = update.ref.removeprefix("refs/heads/") if _is_branch(update.ref) else None
            return await self._check_out(clone, project, branch, update.new_rev)
        clone = await self._clone(project, src_root)
        wanted = _branch_of(event)
        candidates = [wanted] if wanted else DEFAULT_BRANCHES
        branch = await self._first_branch(clone, candidates)
        if branch is None:
            raise GitError(f"{project} has no branch {' or '.join(candidates)}")
        return await self._check_out(clone, project, branch, f"origin/{branch}")

    async def _merge_change(self, change: Change, patchset: PatchSet, src_root: Path) -> Checkout:
        ref = patchset_ref(change.number, patchset)
        clone = await self._clone(change.project, src_root, refs=[ref])
        if await self._first_branch(clone, [change.branch]) is None:
            raise GitError(f"{change.project} has no branch {change.branch!r} to merge onto")
        await self._git.run(
            "checkout", "--quiet", "-B", change.branch, f"origin/{change.branch}", cwd=clone
        )
        await self._git.run("fetch", "--quiet", "origin", ref, cwd=clone)
        try:
            await self._git.run("merge", "--quiet", "--no-edit", "FETCH_HEAD", cwd=clone)
        except GitError as error:
            raise await self._conflict(clone, ref, change.branch, error) from error
        await self._publish(clone, change.project)
        revision = (await self._git.run("rev-parse", "HEAD", cwd=clone)).strip()
        return Checkout(change.project, clone, change.branch, revision)

    async def _conflict(
        self, clone: Path, ref: str, branch: str, error: GitError
    ) -> MergeConflictError:
        files = await abandon_merge(self._git, clone)
        # The report's headline says what does not merge onto what: the files are the news.
        if files:
            return MergeConflictError(f"conflict in {', '.join(files)}", files)
        return MergeConflictError(f"{ref} does not merge onto the tip of {branch}: {error}", ())

    async def _required_checkout(
        self, required: RequiredProject, change_branch: str | None, src_root: Path
    ) -> Checkout:
        clone = await self._clone(required.name, src_root)
        if required.version is not None:
            try:
                return await self._check_out(clone, required.name, None, required.version)
            except GitError as error:
                raise GitError(
                    f"required project {required.name} has no version {required.version!r}: {error}"
                ) from error
        candidates = [required.branch] if required.branch else [change_branch, *DEFAULT_BRANCHES]
        branch = await self._first_branch(clone, [c for c in candidates if c])
        if branch is None:
            tried = ", ".join(c for c in candidates if c)
            raise GitError(f"required project {required.name} has no branch {tried}")
        return await self._check_out(clone, required.name, branch, f"origin/{branch}")

    async def _clone(self, project: str, src_root: Path, refs: Sequence[str] = ()) -> Path:
        url = self._remote.fetch_url(project)
        try:
            mirror = await self._mirrors.update(
                self._git, self._remote.connection, project, url, refs
            )
        except GitError as error:
            # The one request of a build that leaves the host: say which, where, and why.
            what = ", ".join(refs) or "the branches"
            reason = short_reason(error.stderr) if error.stderr else str(error)
            raise GitError(
                f"git fetch of {what} from {secret_free(url)}: {reason}",
                error.returncode,
                error.stderr,
            ) from error
        target = project_path(src_root, project)
        target.parent.mkdir(parents=True, exist_ok=True)
        await self._git.run("clone", "--quiet", "--no-checkout", str(mirror), str(target))
        return target

    async def _check_out(
        self, clone: Path, project: str, branch: str | None, start: str
    ) -> Checkout:
        if branch is None:
            await self._git.run("checkout", "--quiet", "--detach", start, cwd=clone)
        else:
            await self._git.run("checkout", "--quiet", "-B", branch, start, cwd=clone)
        await self._publish(clone, project)
        revision = (await self._git.run("rev-parse", "HEAD", cwd=clone)).strip()
        return Checkout(project, clone, branch, revision)

    async def _first_branch(self, clone: Path, candidates: Sequence[str]) -> str | None:
        return await first_branch(self._git, clone, candidates)

    async def _publish(self, clone: Path, project: str) -> None:
        """Point `origin` at Gerrit's anonymous URL: the clone never names the cache."""
        await self._git.run(
            "remote", "set-url", "origin", self._remote.public_url(project), cwd=clone
        )


async def abandon_merge(git: Git, clone: Path) -> list[str]:
    """The files a merge or a cherry-pick left in conflict, once it is aborted."""
    listed = await git.run("diff", "--name-only", "--diff-filter=U", cwd=clone)
    # A merge refused before it began leaves nothing to abort.
    for abort in (("merge", "--abort"), ("cherry-pick", "--abort")):
        with contextlib.suppress(GitError):
            await git.run(*abort, cwd=clone)
    return [line for line in listed.splitlines() if line]


def _branch_of(event: Event) -> str | None:
    """The branch whose tip an event without a change or a new revision is about."""
    if event.timer is not None:
        return event.timer.branch
    return event.extra.get("branch")


def _is_branch(ref: str) -> bool:
    return ref.startswith("refs/heads/") or not ref.startswith("refs/")


async def first_branch(git: Git, clone: Path, candidates: Sequence[str]) -> str | None:
    """The first of `candidates` the clone's origin has, or None."""
    for branch in candidates:
        try:
            await git.run(
                "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}", cwd=clone
            )
        except GitError:
            continue
        return branch
    return None
