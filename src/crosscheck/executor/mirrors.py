"""A bare mirror per project, so each build fetches only what it lacks.

Mirrors live under `<git_cache>/<connection>-<server digest>/<project>.git`: the
digest of the server's URL keeps two Gerrits apart even when configurations give
their connections the same name (a sandbox per test session, say), since mixing
their histories in one mirror would merge changes onto unrelated branches.

A build says what it needs (fetch_plan.Need); the mirror fetches only the refs that
are missing or older than the build's event, and nothing when it holds them. Builds
waiting on one mirror share its fetches (fetch_batches.py). One fetch at a time
updates a mirror: an asyncio lock inside this process, and an advisory file lock
against other crosscheck processes (`crosscheck run` beside `crosscheck serve`).
A fetch that finds the mirror corrupt moves it aside and fetches a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from crosscheck.executor.fetch_batches import FetchBatches
from crosscheck.executor.fetch_plan import EVERYTHING, Fetch, Need, fresh
from crosscheck.executor.git import Git, GitError, secret_free, short_reason
from crosscheck.executor.mirror_files import (
    clear_refs,
    count_fetch,
    hold_lock,
    remove_aside,
    remove_lock,
    reset_and_check_branches,
    stale_lock,
)
from crosscheck.executor.mirror_tidy import KEEP_CHANGES, tidy

log = logging.getLogger(__name__)
T = TypeVar("T")

#: git's words for a ref the server does not have.
_MISSING_REF = re.compile(r"couldn't find remote ref", re.I)
#: git's words for refs broken with the objects intact: mended in place.
_REFS_WORDS = (
    r"not a git repository|unexpected line in .*packed-refs|couldn't set 'refs/|"
    r"exists; cannot create"
)
_REFS_BROKEN = re.compile(_REFS_WORDS, re.I)
#: git's words for a repository broken on this disk (not the server's fault): its refs,
#: or the rest (its objects, its configuration), for which it is set aside.
_CORRUPT = re.compile(
    _REFS_WORDS + r"|corrupt|bad object|object file .* is empty|inflate|"
    r"does not match index|bad tree|unable to read|invalid object|broken link|"
    r"packfile .* cannot be accessed|reading the configuration files",
    re.I,
)
#: Lines git passes on from the server, or writes of what the server sent (the pack
#: it streams is checked by index-pack on its way in): never about this disk.
_THE_SERVERS = re.compile(
    r"^\s*remote:|remote side|remote end|remote error|upload-pack|index-pack|"
    r"unpack-objects|pack has|protocol error",
    re.I,
)
#: Seconds the check that a mirror git called corrupt is corrupt may take; longer, and
#: the mirror is kept (never thrown away on a guess).
CHECK_TIMEOUT = 600.0
#: Lock files removed for one fetch before it is given up.
MOST_STALE_LOCKS = 8
_REVISION = re.compile(r"[0-9a-f]{4,64}|refs/[^\s^~:]+")
#: What a fetch offers Gerrit as already held: the mirror's branch tips. By default git
#: offers every ref, each patchset fetched before among them, and over stateless HTTP
#: resends them all on each round: 500 lines for a 40-change sandbox, and a fetch
#: slower with every change built. A patchset's parent is on its branch; what else it
#: needs comes in the pack. Left out for a mirror without branches: git would then offer
#: nothing and take the whole history again.
NEGOTIATION_TIP = "--negotiation-tip=refs/heads/*"
#: A fetch's own gc and maintenance would detach and write the mirror after its flock is
#: released, racing the next fetch (and prune what workspaces borrow): the tidy-up packs
#: the mirror instead, under the flock, and prunes nothing.
AUTO_GC_OFF = "--no-auto-maintenance"
#: Fetches into a mirror between two tidy-ups (mirror_tidy.py), counted in a file beside
#: it (`<project>.git.fetches`) by every process: a serve restarted daily, or builds
#: run one by one with `crosscheck run`, tidy it all the same.
TIDY_EVERY = 25
#: A ref this process fetched, or found already held for a build, within this many
#: seconds is kept by a tidy-up: a build may be about to read it.
RECENT_SECONDS = 3600.0


def project_path(root: Path, project: str) -> Path:
    """`root/<project>`, refusing names that would leave `root`."""
    parts = project.split("/")
    if not project or any(part in ("", ".", "..") for part in parts):
        raise GitError(f"{project!r} is not a usable project name")
    return root.joinpath(*parts)


def fetch_failure(error: GitError, what: str, url: str) -> GitError:
    """The one request of a build that leaves the host: say which, where, and why."""
    reason = short_reason(error.stderr) if error.stderr else str(error)
    return GitError(
        f"git fetch of {what} from {secret_free(url)}: {reason}", error.returncode, error.stderr
    )


class MirrorCache:
    """Bare mirrors of Gerrit projects, fetched into on demand."""

    def __init__(
        self,
        root: Path,
        clock: Callable[[], float] = time.time,
        tidy_every: int = TIDY_EVERY,
        keep_changes: int = KEEP_CHANGES,
    ) -> None:
        self.root = root
        self._clock = clock
        self._locks: dict[Path, asyncio.Lock] = {}
        self._batches: dict[Path, FetchBatches] = {}
        #: Mirror -> ref (or EVERYTHING) -> when its last fetch began (this process).
        self._fetched_at: dict[Path, dict[str, float]] = {}
        #: Mirror -> change ref -> when a build last needed it and found it held. Apart
        #: from the fetch times: a branch held is not a branch fetched, for freshness.
        self._held_at: dict[Path, dict[str, float]] = {}
        self._tidy_every = tidy_every
        self._keep_changes = keep_changes
        self._tidying: set[asyncio.Task[None]] = set()

    async def settled(self) -> None:
        """Wait for the tidy-ups under way (tests, and `crosscheck run` before it ends).
        Serve's stop does not wait: a tidy-up killed there leaves lock files the next
        one clears."""
        while self._tidying:
            await asyncio.gather(*self._tidying, return_exceptions=True)

    def path_for(self, connection: str, project: str, url: str) -> Path:
        server = hashlib.sha256(url.removesuffix(project).encode()).hexdigest()[:12]
        base = self.root / f"{quote(connection, safe='')}-{server}"
        return project_path(base, project).with_name(project.rsplit("/", 1)[-1] + ".git")

    def batches(self, path: Path) -> FetchBatches:
        """The fetches of one mirror (its counters tell how many ran)."""
        return self._batches.setdefault(path, FetchBatches(self._clock))

    async def ensure(self, git: Git, connection: str, project: str, url: str, need: Need) -> Path:
        """The mirror, holding what `need` names: fetched only when it does not yet."""
        path = self.path_for(connection, project, url)
        wanted = await self._missing(git, path, need)
        if wanted is None:
            return path
        try:
            await self.batches(path).fetch(wanted, need.since, self._runner(git, path, url))
        except GitError as error:
            if not _MISSING_REF.search(error.stderr):
                raise
            # A branch the build only hoped for, or another build's ref in the shared
            # fetch: every branch and tag, as Gerrit has them, settles which exist.
            fallback = Fetch(frozenset(need.named_refs), everything=True)
            await self._fetch(git, path, url, fallback)
        return path

    async def holds(self, git: Git, path: Path, revisions: Iterable[str]) -> bool:
        """Whether the mirror holds every one of `revisions` (commits or full ref names)."""
        wanted = list(revisions)
        if not (path / "HEAD").exists() or not all(_REVISION.fullmatch(r) for r in wanted):
            return False
        if not wanted:
            return True
        try:
            await git.run("rev-parse", *(f"{r}^{{commit}}" for r in wanted), cwd=path)
        except GitError:
            return False
        return True

    async def _missing(self, git: Git, path: Path, need: Need) -> Fetch | None:
        """The fetch `need` still takes, or None."""
        if not (path / "HEAD").exists():
            refs = [*need.tips, *need.named_refs]
            unnamed = any(ref is None for ref in need.commits.values())
            return Fetch(frozenset(refs), need.everything or unnamed)
        fetched_at = self._fetched_at.get(path, {})
        stale = [tip for tip in need.tips if not fresh(fetched_at, tip, need.since)]
        everything = need.everything and not fresh(fetched_at, EVERYTHING, need.since)
        unnamed = any(ref is None for ref in need.commits.values())
        # Asking the mirror costs a git process: worth it only when it may spare a fetch.
        if (stale or everything) and not unnamed:
            missing = list(need.commits)
        elif await self.holds(git, path, need.commits):
            missing = []
            held = self._held_at.setdefault(path, {})
            for ref in need.commits.values():
                if ref is not None and ref.startswith("refs/changes/"):
                    held[ref] = self._clock()
        else:
            missing = list(need.commits)
        refs = [*stale, *(ref for c in missing if (ref := need.commits[c]) is not None)]
        everything = everything or any(need.commits[c] is None for c in missing)
        return Fetch(frozenset(refs), everything) if refs or everything else None

    def _runner(self, git: Git, path: Path, url: str) -> Callable[[Fetch], Awaitable[None]]:
        async def run(fetch: Fetch) -> None:
            await self._fetch(git, path, url, fetch)

        return run

    async def _fetch(self, git: Git, path: Path, url: str, fetch: Fetch) -> None:
        async with self._locked(path):
            began = self._clock()
            try:
                fetch_once = partial(self._fetch_into, git, path, url, fetch)
                await self._clearing_locks(path, "fetching", fetch_once)
            except GitError as error:
                if not _CORRUPT.search(said_of_mirror(error, path, url)):
                    raise
                fetch = Fetch(fetch.refs, everything=True)
                began = self._clock()
                await self._mend(git, path, url, fetch, error)
            times = self._fetched_at.setdefault(path, {})
            for ref in (*fetch.refs, *((EVERYTHING,) if fetch.everything else ())):
                times[ref] = began
            due = count_fetch(path, self._tidy_every)
        if due:  # after the fetch: the build that fetched goes on; the next fetch waits
            task = asyncio.create_task(self._tidy(git, path), name="mirror-tidy")
            self._tidying.add(task)
            task.add_done_callback(self._tidying.discard)

    async def _tidy(self, git: Git, path: Path) -> None:
        """Bound, pack and index the mirror (mirror_tidy.py)."""
        try:
            async with self._locked(path):
                began = time.monotonic()
                fetched = self._fetched_at.get(path, {})
                held = self._held_at.get(path, {})
                since = self._clock() - RECENT_SECONDS
                recent = {ref for times in (fetched, held) for ref, at in times.items()
                          if at >= since}  # fmt: skip
                # A stop in the middle leaves git's lock files: the next tidy-up clears them.
                tidy_once = partial(tidy, git, path, self._keep_changes, recent)
                forgotten = await self._clearing_locks(path, "tidying", tidy_once)
                for times in (fetched, held):
                    for ref in [ref for ref in times if ref.startswith("refs/changes/")]:
                        if ref not in recent:  # forgotten, or soon: no use knowing its age
                            del times[ref]
            log.info(
                "mirror %s tidied in %.2fs: refs and objects packed, %d ref(s) of changes "
                "older than the newest %d forgotten",
                path,
                time.monotonic() - began,
                forgotten,
                self._keep_changes,
            )
        except (GitError, OSError) as error:
            log.warning("mirror %s: tidying it failed (fetches go on): %s", path, error)

    async def _clearing_locks(
        self, path: Path, doing: str, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """`attempt` under the mirror's lock, removing lock files git left in it."""
        for cleared in range(MOST_STALE_LOCKS + 1):
            try:
                return await attempt()
            except GitError as error:
                stale = stale_lock(error.stderr or str(error), path)
                if stale is None or cleared == MOST_STALE_LOCKS:
                    raise
                log.warning("mirror %s: removing the stale lock %s, then %s", path, stale, doing)
                await asyncio.to_thread(remove_lock, stale)
        raise AssertionError("unreachable: the last attempt raises")

    async def _fetch_into(self, git: Git, path: Path, url: str, fetch: Fetch) -> None:
        if not (path / "HEAD").exists():  # git init makes the directories
            # A mirror removed behind this process's back: what it fetched is gone too.
            self._forget(path)
            await git.run("init", "--quiet", "--bare", str(path))
        options = [AUTO_GC_OFF, *(["--prune"] if fetch.everything else [])]
        # Also after an init: a HEAD removed from a mirror leaves its planted configuration.
        # packed-refs can be megabytes: read off the event loop.
        if await asyncio.to_thread(reset_and_check_branches, path):
            options.append(NEGOTIATION_TIP)
        # The most specific setting wins in git, whatever its file: for this very URL, no
        # proxy, whatever a build wrote where this git reads its configuration.
        exact = {f"http.{url}.proxy": "", f"http.{url}.sslVerify": "true"}
        await git.run(
            "fetch", "--quiet", *options, url, *fetch.refspecs(), cwd=path,
            authenticated=True, config=exact,
        )  # fmt: skip

    async def _mend(self, git: Git, path: Path, url: str, fetch: Fetch, error: GitError) -> None:
        """Fetch everything into a mirror git called corrupt. Broken refs (HEAD, packed-refs,
        a ref where a branch's directory goes) are fetched anew with the objects kept:
        builds on this host borrow them, and one running would lose its commits. Anything
        else, or refs still broken after that, and the mirror is set aside whole."""
        if _REFS_BROKEN.search(said_of_mirror(error, path, url)):
            log.warning("mirror %s has broken refs (%s): fetching them anew", path, error)
            self._forget(path)
            await asyncio.to_thread(clear_refs, path)
            try:
                await self._fetch_into(git, path, url, fetch)
                return
            except GitError as again:
                if not _CORRUPT.search(said_of_mirror(again, path, url)):
                    raise
                error = again
        if not await _proven_corrupt(git, path):
            # Whole as far as git can tell: the fault is the server's, or the network's.
            raise error
        log.warning("mirror %s is corrupt (%s): fetching it anew", path, error)
        await self._set_aside(path)
        await self._fetch_into(git, path, url, fetch)

    def _forget(self, path: Path) -> None:
        """What this process knew of a mirror's refs, once they are gone."""
        self._fetched_at.pop(path, None)
        self._held_at.pop(path, None)

    async def _set_aside(self, path: Path) -> None:
        """Move a corrupt mirror out of the way (builds reading it may still hold it
        open) and remove it; what this process knew of it is forgotten."""
        self._forget(path)
        await asyncio.to_thread(remove_aside, path)

    @contextlib.asynccontextmanager
    async def _locked(self, path: Path) -> AsyncIterator[None]:
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = await hold_lock(path.with_name(path.name + ".lock"))
            try:
                yield
            finally:
                os.close(fd)  # closing releases the lock


def said_of_mirror(error: GitError, path: Path, url: str) -> str:
    """What a failed git said of the mirror on this disk: not the server's lines, nor those
    about the pack it sent, and with the mirror's path and the server's URL blanked (a
    project named tools/corruption-checker is no corruption)."""
    lines = (error.stderr or str(error)).splitlines()
    kept = "\n".join(line for line in lines if not _THE_SERVERS.search(line))
    for name in sorted({str(path), url, url.rstrip("/")}, key=len, reverse=True):
        kept = kept.replace(name, "<mirror>" if name == str(path) else "<url>")
    return kept


async def _proven_corrupt(git: Git, path: Path) -> bool:
    """Whether git finds the mirror broken on its own, before it is thrown away with the
    commits the workspaces of running builds borrow from it."""
    try:
        await git.run(
            "fsck", "--connectivity-only", "--no-dangling", "--no-progress",
            cwd=path, timeout=CHECK_TIMEOUT,
        )  # fmt: skip
    except GitError as error:
        if error.returncode is None:  # too long to tell: kept
            log.warning("mirror %s: %s; kept", path, error)
            return False
        return True
    return False
