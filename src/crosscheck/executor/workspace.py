"""The workspace: the change merged onto its branch tip, required projects beside it.

Every project is checked out at `<src>/<project>` (a project's `/` makes
directories), cloned from its local mirror (clones.py), which fetches only what the
build lacks (fetch_plan.py). The clones' `origin` is then pointed at Gerrit's
anonymous URL: no credentials in the workspace, and its remote never names the cache.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crosscheck.executor.clones import NoSuchBranchError, clone_mirror, first_branch, head
from crosscheck.executor.early_clone import start_early_clone
from crosscheck.executor.fetch_plan import Need, event_time
from crosscheck.executor.git import Git, GitError
from crosscheck.executor.mirrors import MirrorCache, fetch_failure, project_path
from crosscheck.model.build import patchset_ref
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.job import RequiredProject

#: Where a project without a branch of the change's name is checked out, in this order.
DEFAULT_BRANCHES = ("master", "main")
#: A commit's name in hex (full or abbreviated), as events and versions give it.
_COMMIT = re.compile(r"[0-9a-f]{7,64}")


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

    def __init__(
        self, git: Git, mirrors: MirrorCache, remote: GerritRemote, *, shared: bool = False
    ) -> None:
        self._git = git
        self._mirrors = mirrors
        self._remote = remote
        #: Clones borrow the mirrors' objects (clones.py): steps run on this host.
        self._shared = shared

    async def prepare(
        self, event: Event, required: Sequence[RequiredProject], src_root: Path
    ) -> Workspace:
        """Check out what `event` is about, then every required project beside it."""
        since = event_time(event.received_at)
        main, message = await self._main_checkout(event, src_root, since)
        default_branch = event.change.branch if event.change else main.branch
        others = [
            await self._required_checkout(rp, default_branch, src_root, since)
            for rp in required
            if rp.name != main.project
        ]
        checkouts = {c.project: c for c in (main, *others)}
        return Workspace(src_root, main, tuple(others), message, checkouts)

    async def _main_checkout(
        self, event: Event, src_root: Path, since: float
    ) -> tuple[Checkout, str]:
        if event.change is not None and event.patchset is not None:
            return await self._merge_change(event, event.change, event.patchset, src_root)
        project = event.project or (event.change.project if event.change else "")
        update = event.ref_update
        if update is not None and not update.deleted:
            return await self._at_revision(project, update.ref, update.new_rev, src_root)
        wanted = _branch_of(event)
        need = (
            Need(tips=(f"refs/heads/{wanted}",), since=since)
            if wanted
            else Need(everything=True, since=since)
        )
        mirror = await self._mirror(project, need)
        candidates = [wanted] if wanted else DEFAULT_BRANCHES
        branch = await first_branch(self._git, mirror, candidates, "refs/heads/")
        if branch is None:
            raise GitError(f"{project} has no branch {' or '.join(candidates)}")
        clone = await self._clone(mirror, project, src_root, branch)
        return await self._checkout_of(clone, project, branch)

    async def _merge_change(
        self, event: Event, change: Change, patchset: PatchSet, src_root: Path
    ) -> tuple[Checkout, str]:
        ref = patchset_ref(change.number, patchset)
        commit = _merged_commit(patchset, ref)
        clone, pointed = await self._change_clone(event, change, src_root)
        mirror = self._mirror_path(change.project)
        if commit == ref:  # no revision to merge by: the ref, from the mirror
            await self._git.run("fetch", "--quiet", str(mirror), ref, cwd=clone)
            commit = "FETCH_HEAD"
        try:
            await self._git.run("merge", "--quiet", "--no-edit", commit, cwd=clone)
        except GitError as error:
            raise await self._conflict(clone, ref, change.branch, error) from error
        return await self._checkout_of(clone, change.project, change.branch, pointed=pointed)

    async def _change_clone(
        self, event: Event, change: Change, src_root: Path
    ) -> tuple[Path, bool]:
        """The change's branch cloned from its mirror once the mirror holds the change,
        and whether `origin` already names Gerrit. On this host the clone is made while
        the mirror fetches (early_clone.py)."""
        target = project_path(src_root, change.project)
        public = self._remote.public_url(change.project)
        mirror_path = self._mirror_path(change.project)
        early = (
            start_early_clone(self._git, mirror_path, target, change.branch, public)
            if self._shared
            else None
        )
        try:
            mirror = await self._mirror(change.project, change_need(event))
        except BaseException:
            if early is not None:
                await early.abandon()
            raise
        if early is not None and await early.settle(self._git, mirror, change.branch):
            return target, True
        try:
            return await self._clone(mirror, change.project, src_root, change.branch), False
        except NoSuchBranchError as error:
            raise GitError(
                f"{change.project} has no branch {change.branch!r} to merge onto"
            ) from error

    async def _at_revision(
        self, project: str, ref: str, revision: str, src_root: Path
    ) -> tuple[Checkout, str]:
        """A ref-updated event: its new revision, on its branch when the ref is one."""
        full = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
        mirror = await self._mirror(project, Need({revision: full}))
        clone = await self._clone(mirror, project, src_root)
        branch = full.removeprefix("refs/heads/") if _is_branch(ref) else None
        if branch is None:
            await self._git.run("checkout", "--quiet", "--detach", revision, cwd=clone)
        else:
            await self._git.run("checkout", "--quiet", "-B", branch, revision, cwd=clone)
        return await self._checkout_of(clone, project, branch)

    async def _conflict(self, clone: Path, ref: str, branch: str, error: GitError) -> GitError:
        """What a failed merge says: a conflict (the change's to fix), or a merge that
        could not run here (an infrastructure error: never a vote against the change)."""
        files = await abandon_merge(self._git, clone)
        # The report's headline says what does not merge onto what: the files are the news.
        if files:
            return MergeConflictError(f"conflict in {', '.join(files)}", files)
        if not refused_by_content(error):
            return GitError(f"merging {ref} could not run: {error}", error.returncode, error.stderr)
        return MergeConflictError(f"{ref} does not merge onto the tip of {branch}: {error}", ())

    async def _required_checkout(
        self, required: RequiredProject, change_branch: str | None, src_root: Path, since: float
    ) -> Checkout:
        if required.version is not None:
            return await self._at_version(required, src_root)
        named = [required.branch] if required.branch else [change_branch, *DEFAULT_BRANCHES]
        candidates = [c for c in named if c]
        # The likeliest branch alone; when Gerrit has no such branch, the mirror fetches
        # every branch (pruned) and the next candidate is looked for there.
        need = Need(tips=(f"refs/heads/{candidates[0]}",), since=since)
        mirror = await self._mirror(required.name, need)
        branch = await first_branch(self._git, mirror, candidates, "refs/heads/")
        if branch is None:
            tried = ", ".join(candidates)
            raise GitError(f"required project {required.name} has no branch {tried}")
        clone = await self._clone(mirror, required.name, src_root, branch)
        checkout, _ = await self._checkout_of(clone, required.name, branch)
        return checkout

    async def _at_version(self, required: RequiredProject, src_root: Path) -> Checkout:
        version = required.version or ""
        # A tag or a commit the mirror has is used as it is; else every branch and tag.
        held = version if _COMMIT.fullmatch(version) else f"refs/tags/{version}"
        mirror = await self._mirror(required.name, Need({held: None}))
        clone = await self._clone(mirror, required.name, src_root)
        try:
            await self._git.run("checkout", "--quiet", "--detach", version, cwd=clone)
        except GitError as error:
            raise GitError(
                f"required project {required.name} has no version {version!r}: {error}"
            ) from error
        checkout, _ = await self._checkout_of(clone, required.name, None)
        return checkout

    def _mirror_path(self, project: str) -> Path:
        url = self._remote.fetch_url(project)
        return self._mirrors.path_for(self._remote.connection, project, url)

    async def _mirror(self, project: str, need: Need) -> Path:
        url = self._remote.fetch_url(project)
        connection = self._remote.connection
        try:
            return await self._mirrors.ensure(self._git, connection, project, url, need)
        except GitError as error:
            what = ", ".join(need.named_refs) or "the branches"
            raise fetch_failure(error, what, url) from error

    async def _clone(
        self, mirror: Path, project: str, src_root: Path, branch: str | None = None
    ) -> Path:
        target = project_path(src_root, project)
        return await clone_mirror(self._git, mirror, target, shared=self._shared, branch=branch)

    async def _checkout_of(
        self, clone: Path, project: str, branch: str | None, *, pointed: bool = False
    ) -> tuple[Checkout, str]:
        """Point `origin` at Gerrit's anonymous URL unless `pointed` already (the clone
        never names the cache in its remote), then read what is checked out: the
        checkout and its message."""
        if not pointed:
            await self._git.run(
                "remote", "set-url", "origin", self._remote.public_url(project), cwd=clone
            )
        revision, message = await head(self._git, clone)
        return Checkout(project, clone, branch, revision), message


#: git's words when a change itself does not merge or pick, beside conflicting files: the
#: change's to fix. Any other failed merge ("not something we can merge": a commit the
#: workspace lacks) is the infrastructure's.
_REFUSED_BY_CONTENT = re.compile(r"unrelated histories|could not apply|CONFLICT")


def refused_by_content(error: GitError) -> bool:
    """Whether a merge or cherry-pick that left no file in conflict failed because of the
    change's content."""
    return bool(_REFUSED_BY_CONTENT.search(f"{error.stderr}\n{error}"))


async def abandon_merge(git: Git, clone: Path) -> list[str]:
    """The files a merge or a cherry-pick left in conflict, once it is aborted."""
    listed = await git.run("diff", "--name-only", "--diff-filter=U", cwd=clone)
    # A merge refused before it began leaves nothing to abort.
    for abort in (("merge", "--abort"), ("cherry-pick", "--abort")):
        with contextlib.suppress(GitError):
            await git.run(*abort, cwd=clone)
    return [line for line in listed.splitlines() if line]


def change_need(event: Event) -> Need:
    """What a build of a change needs of its mirror: the patchset, and its branch's tip
    as it is at the event or later. None of a change's builds need more."""
    if event.change is None or event.patchset is None:
        raise GitError("the event names no patchset")
    ref = patchset_ref(event.change.number, event.patchset)
    commit = _merged_commit(event.patchset, ref)
    tip = f"refs/heads/{event.change.branch}"
    return Need({commit: ref}, tips=(tip,), since=event_time(event.received_at))


def _merged_commit(patchset: PatchSet, ref: str) -> str:
    """What is merged: the patchset's commit, or its ref when the event has no commit."""
    return patchset.revision if _COMMIT.fullmatch(patchset.revision) else ref


def _branch_of(event: Event) -> str | None:
    """The branch whose tip an event without a change or a new revision is about."""
    if event.timer is not None:
        return event.timer.branch
    return event.extra.get("branch")


def _is_branch(ref: str) -> bool:
    return ref.startswith("refs/heads/") or not ref.startswith("refs/")
