"""Mirrors fetch only what a build lacks: nothing when they hold it, only its refs
otherwise, one fetch for the builds waiting together; a corrupt one is fetched anew."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from crosscheck.executor import Executor, LocalNodeProvider, mirror_files
from crosscheck.executor import git as git_module
from crosscheck.executor.fetch_plan import Need
from crosscheck.executor.git import Git, GitError
from crosscheck.executor.mirrors import (
    AUTO_GC_OFF,
    NEGOTIATION_TIP,
    MirrorCache,
    said_of_mirror,
)
from crosscheck.executor.workspace import GerritRemote, Workspace, WorkspaceBuilder, change_need
from crosscheck.model.build import BuildResult
from crosscheck.model.events import Event
from tests.unit.executor.conftest import PROJECT, MakeRequest, change_event, connection_for
from tests.unit.executor.gitrepos import Upstream, git


class CountingGit(Git):
    """git, counting the fetches into mirrors (`cwd` ending in `.git`); each may wait
    for `gate` first, so tests can hold a fetch while other builds arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[tuple[str, ...]] = []
        #: The configuration each fetch was given beyond the environment's.
        self.configs: list[dict[str, str]] = []
        self.gate: asyncio.Event | None = None
        #: Fetches into mirrors that fail as an unreachable Gerrit would, from now on.
        self.unreachable = False

    async def run(self, *args: str, cwd: Path | None = None, **kwargs: object) -> str:
        if args[0] == "fetch" and cwd is not None and cwd.name.endswith(".git"):
            self.fetches.append(args)
            self.configs.append(dict(kwargs.get("config") or {}))  # type: ignore[call-overload]
            if self.gate is not None:
                await self.gate.wait()
            if self.unreachable:
                raise GitError("git fetch: connection refused", 128, "connection refused")
        return await super().run(*args, cwd=cwd, **kwargs)  # type: ignore[arg-type]


def builder(upstream: Upstream, cache: MirrorCache, counting: CountingGit) -> WorkspaceBuilder:
    return WorkspaceBuilder(counting, cache, GerritRemote("upstream", upstream.url, False))


def now_event(number: int, patchset: int, revision: str) -> Event:
    return replace(change_event(number, patchset, revision), created_on=int(time.time()))


def mirror_of(cache: MirrorCache) -> Path:
    """The one mirror the cache holds: the upstream's acme/driver."""
    (mirror,) = cache.root.glob("upstream-*/acme/driver.git")
    return mirror


def mirror_refs(cache: MirrorCache) -> list[str]:
    return git(mirror_of(cache), "for-each-ref", "--format=%(refname)").split()


async def test_a_mirror_holding_the_commit_and_a_fresh_tip_is_not_fetched(
    upstream: Upstream, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 11, 1, {"a": "1"}, "Change")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    event = now_event(11, 1, revision)

    first = await builder(upstream, cache, counting).prepare(event, (), tmp_path / "one")
    second = await builder(upstream, cache, counting).prepare(event, (), tmp_path / "two")

    assert len(counting.fetches) == 1  # the second job of the same event fetched nothing
    assert first.main.revision == second.main.revision == revision


async def test_a_later_event_fetches_the_tip_again(upstream: Upstream, tmp_path: Path) -> None:
    revision = upstream.change(PROJECT, 12, 1, {"a": "1"}, "Change")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    event = now_event(12, 1, revision)
    await builder(upstream, cache, counting).prepare(event, (), tmp_path / "one")
    tip = upstream.commit(PROJECT, {"b": "2"}, "Merged meanwhile")

    # A recheck received now: its build must see the branch as it is now.
    recheck = change_event(12, 1, revision, comment="recheck")
    workspace = await builder(upstream, cache, counting).prepare(recheck, (), tmp_path / "two")

    assert len(counting.fetches) == 2
    assert tip in git(workspace.main.path, "log", "--format=%H").split()


async def test_a_merge_and_a_recheck_in_the_second_of_the_last_fetch_see_the_new_tip(
    upstream: Upstream, tmp_path: Path
) -> None:
    # Gerrit stamps events in whole seconds: a recheck stamped with the second of the
    # last fetch found that fetch fresh, and its build merged onto the old tip.
    second = int(time.time())
    revision = upstream.change(PROJECT, 14, 1, {"a": "1"}, "Change")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    event = replace(change_event(14, 1, revision), created_on=second)
    await builder(upstream, cache, counting).prepare(event, (), tmp_path / "one")
    tip = upstream.commit(PROJECT, {"b": "2"}, "Merged within the same second")

    recheck = replace(change_event(14, 1, revision, comment="recheck"), created_on=second)
    workspace = await builder(upstream, cache, counting).prepare(recheck, (), tmp_path / "two")

    assert len(counting.fetches) == 2
    assert tip in git(workspace.main.path, "log", "--format=%H").split()


async def test_a_gerrit_clock_ahead_of_ours_does_not_make_every_build_fetch(
    upstream: Upstream, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 15, 1, {"a": "1"}, "Change")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    ahead = replace(change_event(15, 1, revision), created_on=int(time.time()) + 3600)

    await builder(upstream, cache, counting).prepare(ahead, (), tmp_path / "one")
    await builder(upstream, cache, counting).prepare(ahead, (), tmp_path / "two")

    assert len(counting.fetches) == 1  # the second job of the same event fetched nothing


async def test_only_the_change_and_its_branch_are_fetched(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.tag(PROJECT, "v1.0")
    stable = upstream.commit(PROJECT, {"x": "y"}, "Elsewhere", branch="stable/1.0")
    git(upstream.root / PROJECT, "tag", "v0.9-stable", stable)
    revision = upstream.change(PROJECT, 13, 1, {"a": "1"}, "Change")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")

    await builder(upstream, cache, counting).prepare(
        now_event(13, 1, revision), (), tmp_path / "src"
    )

    # Tags come along only when they are on what was fetched (`git describe` works).
    assert mirror_refs(cache) == ["refs/changes/13/13/1", "refs/heads/master", "refs/tags/v1.0"]
    (fetch,) = counting.fetches
    assert "--prune" not in fetch
    assert not any("*" in arg for arg in fetch)


async def test_builds_waiting_on_one_mirror_share_its_fetches(
    upstream: Upstream, tmp_path: Path
) -> None:
    revisions = [upstream.change(PROJECT, n, 1, {f"f{n}": "1"}, f"C{n}") for n in range(1, 7)]
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    counting.gate = asyncio.Event()
    events = [now_event(n, 1, r) for n, r in enumerate(revisions, start=1)]

    def prepare(index: int, event: Event) -> asyncio.Task[Workspace]:
        make = builder(upstream, cache, counting)
        return asyncio.create_task(make.prepare(event, (), tmp_path / f"w{index}"))

    first = prepare(0, events[0])
    while not counting.fetches:  # held at the gate
        await asyncio.sleep(0.01)
    # A second job of change 1, and five other changes, while that fetch runs.
    others = [prepare(i, event) for i, event in enumerate(events, start=1)]
    await asyncio.sleep(0.1)
    counting.gate.set()
    workspaces = await asyncio.gather(first, *others)

    assert len(counting.fetches) == 2  # the running one, then one for all the others
    # Change 1's second job waited for the running fetch: the next one is the others'.
    assert not any("refs/changes/01/1/1" in arg for arg in counting.fetches[1])
    assert sum("refs/changes/" in arg for arg in counting.fetches[1]) == 5
    assert [w.main.revision for w in workspaces] == [revisions[0], *revisions]
    mirror = mirror_of(cache)
    assert (cache.batches(mirror).fetches, cache.batches(mirror).requests) == (2, 7)


async def test_a_build_sharing_a_fetch_with_a_missing_ref_still_gets_its_own(
    upstream: Upstream, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 21, 1, {"a": "1"}, "Change")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    counting.gate = asyncio.Event()
    good = asyncio.create_task(
        builder(upstream, cache, counting).prepare(now_event(21, 1, revision), (), tmp_path / "a")
    )
    gone = asyncio.create_task(
        builder(upstream, cache, counting).prepare(now_event(22, 1, "f" * 40), (), tmp_path / "b")
    )
    await asyncio.sleep(0.05)
    counting.gate.set()
    done = await asyncio.gather(good, gone, return_exceptions=True)

    assert not isinstance(done[0], BaseException)
    assert done[0].main.revision == revision
    assert "refs/changes/22/22/1" in str(done[1])


@pytest.mark.parametrize(
    "broken",
    ["HEAD", "packed-refs", "a ref under a branch", "a branch's directory", "config"],
)
async def test_a_corrupt_mirror_is_fetched_anew(
    upstream: Upstream, tmp_path: Path, broken: str
) -> None:
    """Broken refs are fetched anew with the objects kept: a build still running on this
    host borrows them (its workspace here), and would lose its commits."""
    first = upstream.change(PROJECT, 31, 1, {"a": "1"}, "First")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    remote = GerritRemote("upstream", upstream.url, False)
    running = await WorkspaceBuilder(counting, cache, remote, shared=True).prepare(
        now_event(31, 1, first), (), tmp_path / "one"
    )
    mirror = mirror_of(cache)
    if broken == "HEAD":
        (mirror / "HEAD").write_text("garbage\n")  # git no longer sees a repository there
    elif broken == "packed-refs":  # every ref a tidy-up packed is in that one file
        git(mirror, "pack-refs", "--all")
        with (mirror / "packed-refs").open("a") as packed:
            packed.write("not a ref line\n")
    elif broken == "config":  # cannot be written back: set aside, never fetched into
        (mirror / "config").unlink()
        (mirror / "config").mkdir()
    else:  # master can no longer be updated: a file stands where its directory would
        if broken == "a ref under a branch":
            git(mirror, "pack-refs", "--all")
        else:
            (mirror / "refs" / "heads" / "master").unlink()
        upstream.commit(PROJECT, {"moved": "1"}, "Master moves")
        evil = mirror / "refs" / "heads" / "master" / "evil"
        evil.parent.mkdir(parents=True, exist_ok=True)
        evil.write_text(first + "\n")

    second = upstream.change(PROJECT, 31, 2, {"a": "2"}, "Second")
    workspace = await builder(upstream, cache, counting).prepare(
        now_event(31, 2, second), (), tmp_path / "two"
    )

    assert workspace.main.revision == second
    assert git(mirror, "rev-parse", "--is-bare-repository") == "true"
    assert list(mirror.parent.glob("driver.git.corrupt-*")) == []
    if broken != "config":  # refs mended in place: what running builds borrow stays
        assert git(running.main.path, "cat-file", "-t", first) == "commit"
        git(running.main.path, "fsck", "--connectivity-only")


async def test_corruption_on_the_servers_side_keeps_the_mirror(
    upstream: Upstream, tmp_path: Path
) -> None:
    """git's words for corruption, about the server's repository or the pack it sent,
    are no reason to throw the mirror away under the builds that borrow its commits."""
    first = upstream.change(PROJECT, 31, 1, {"a": "1"}, "First")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    remote = GerritRemote("upstream", upstream.url, False)
    running = await WorkspaceBuilder(counting, cache, remote, shared=True).prepare(
        now_event(31, 1, first), (), tmp_path / "one"
    )
    second = upstream.change(PROJECT, 32, 1, {"b": "only in the second change\n"}, "Second")
    served = upstream.root / PROJECT
    blob = git(served, "rev-parse", f"{second}:b")
    loose = served / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"garbage")

    with pytest.raises(GitError) as failed:
        await builder(upstream, cache, counting).prepare(
            now_event(32, 1, second), (), tmp_path / "two"
        )

    assert "corrupt" in (failed.value.stderr or "")  # what git said, and why it was tempting
    assert git(running.main.path, "cat-file", "-t", first) == "commit"
    assert list(mirror_of(cache).parent.glob("driver.git.corrupt-*")) == []


async def test_a_project_named_for_corruption_keeps_its_mirror_when_gerrit_is_away(
    tmp_path: Path,
) -> None:
    project = "tools/corruption-checker"
    upstream = Upstream(tmp_path / "upstream")
    upstream.create(project, {"README": "x"})
    first = upstream.change(project, 1, 1, {"a": "1"}, "First")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    remote = GerritRemote("upstream", upstream.url, False)
    event = now_event(1, 1, first)
    assert event.change is not None
    event = replace(event, change=replace(event.change, project=project))
    running = await WorkspaceBuilder(counting, cache, remote, shared=True).prepare(
        event, (), tmp_path / "one"
    )
    (mirror,) = cache.root.glob("upstream-*/tools/corruption-checker.git")
    upstream.root.rename(tmp_path / "away")  # every fetch fails, naming the project

    away = Need(tips=("refs/heads/master",), since=time.time())
    with pytest.raises(GitError):
        await cache.ensure(counting, "upstream", project, remote.fetch_url(project), away)

    assert git(running.main.path, "cat-file", "-t", first) == "commit"
    assert git(mirror, "rev-parse", f"{first}^{{commit}}") == first


def test_only_what_git_says_of_this_disk_counts_as_corruption() -> None:
    url, path = "https://review.example.org/a/corrupt/things", Path("/m/corrupt/things.git")
    said = (
        "remote: fatal: loose object 1234 is corrupt\n"
        "fatal: git upload-pack: aborting due to possible repository corruption on the "
        "remote side.\n"
        "error: inflate: data stream error; fatal: index-pack failed\n"
        f"fatal: unable to access '{url}/': The requested URL returned error: 502\n"
        f"fatal: '{path}' is no repository\n"
        "error: object file objects/ab/cdef is empty\n"
    )
    kept = said_of_mirror(GitError("fetch failed", 128, said), path, url)

    assert kept.splitlines() == [
        "fatal: unable to access '<url>/': The requested URL returned error: 502",
        "fatal: '<mirror>' is no repository",
        "error: object file objects/ab/cdef is empty",
    ]


async def test_a_build_on_this_host_borrows_the_mirror_and_cannot_harm_it(
    upstream: Upstream, tmp_path: Path, make_request: MakeRequest
) -> None:
    revision = upstream.change(PROJECT, 41, 1, {"a": "1"}, "Change")
    cache = MirrorCache(tmp_path / "git")
    executor = Executor(LocalNodeProvider(tmp_path / "work", slots=1), tmp_path / "logs", cache)
    vandal = (
        "test -s .git/objects/info/alternates; git gc --quiet --prune=now; "
        "chmod -R u+w .git/objects; "
        "find .git/objects -type f -exec sh -c 'echo garbage > \"$1\"' _ {} \\;"
    )
    outcome = await executor.run(make_request(vandal, event=now_event(41, 1, revision)))
    assert outcome.result is BuildResult.SUCCESS, outcome.detail

    mirror = mirror_of(cache)
    git(mirror, "fsck", "--no-dangling")  # raises when the mirror is damaged
    assert git(mirror, "rev-parse", f"{revision}^{{commit}}") == revision


async def test_a_prefetched_change_is_fetched_once_for_its_build(
    upstream: Upstream, tmp_path: Path, make_request: MakeRequest
) -> None:
    revision = upstream.change(PROJECT, 51, 1, {"a": "1"}, "Change")
    cache = MirrorCache(tmp_path / "git")
    executor = Executor(LocalNodeProvider(tmp_path / "work", slots=1), tmp_path / "logs", cache)
    event = now_event(51, 1, revision)

    executor.prefetch(event, connection_for(upstream))  # as the item is planned
    outcome = await executor.run(make_request("true", event=event))

    assert outcome.result is BuildResult.SUCCESS, outcome.detail
    mirror = mirror_of(cache)
    assert (cache.batches(mirror).fetches, cache.batches(mirror).requests) == (1, 2)


@pytest.mark.parametrize("planted", ["file", "directory"])
async def test_a_lock_left_in_the_mirror_is_removed_and_the_mirror_kept(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    first = upstream.change(PROJECT, 51, 1, {"a": "1"}, "First")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    await builder(upstream, cache, counting).prepare(now_event(51, 1, first), (), tmp_path / "one")
    mirror = mirror_of(cache)
    set_aside: list[Path] = []

    async def record(path: Path) -> None:
        set_aside.append(path)

    monkeypatch.setattr(cache, "_set_aside", record)
    # A killed fetch's leftover, or a build's: the next fetch of that ref cannot take it.
    lock = mirror / "refs" / "changes" / "51" / "51" / "2.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    if planted == "file":
        lock.write_text("")
    else:  # only a build makes one: a mirror's directories are writable on its host
        (lock / "inside").mkdir(parents=True)

    second = upstream.change(PROJECT, 51, 2, {"a": "2"}, "Second")
    workspace = await builder(upstream, cache, counting).prepare(
        now_event(51, 2, second), (), tmp_path / "two"
    )

    assert workspace.main.revision == second
    assert not lock.exists()
    # Not fetched anew: the workspaces that borrow the mirror's objects keep them.
    assert set_aside == []


async def test_what_a_build_plants_in_the_mirror_is_undone_before_the_next_fetch(
    upstream: Upstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A build on this host can write its mirror: a URL rewrite (or a proxy) in its config
    would send the next fetch, credentials and all, elsewhere; a `shallow` file would
    make every clone of it borrow nothing, and every merge fail."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingGit()
    remote = GerritRemote("upstream", upstream.url, False)
    local = WorkspaceBuilder(counting, cache, remote, shared=True)
    first = upstream.change(PROJECT, 71, 1, {"a": "1"}, "First")
    await local.prepare(now_event(71, 1, first), (), tmp_path / "one")
    again = upstream.change(PROJECT, 72, 1, {"b": "1"}, "Again")
    await local.prepare(now_event(72, 1, again), (), tmp_path / "again")
    said = [r.getMessage() for r in caplog.records if str(tmp_path) in r.getMessage()]
    assert [m for m in said if "undone before fetching" in m] == []  # nothing planted
    mirror = mirror_of(cache)
    elsewhere = (tmp_path / "elsewhere").as_uri()
    git(mirror, "config", f"url.{elsewhere}/.insteadOf", f"{upstream.url}/")
    git(mirror, "config", "http.proxy", "http://127.0.0.1:9")
    tip = git(mirror, "rev-parse", "refs/heads/master")
    (mirror / "shallow").write_text(tip + "\n")
    (mirror / "info").mkdir(exist_ok=True)
    (mirror / "info" / "grafts").write_text(tip + "\n")
    # Its configuration read from a copy of the build's making.
    shutil.copytree(mirror, tmp_path / "evil-common.git", symlinks=True)
    git(tmp_path / "evil-common.git", "config", f"http.{upstream.url}/.proxy", "http://x:9")
    (mirror / "commondir").write_text(str(tmp_path / "evil-common.git") + "\n")
    # The configuration as a link to a file of the service's: written anew, not through.
    outside = tmp_path / "outside.conf"
    outside.write_text((mirror / "config").read_text())
    (mirror / "config").unlink()
    (mirror / "config").symlink_to(outside)
    kept = outside.read_text()
    set_aside: list[Path] = []

    async def record(path: Path) -> None:
        set_aside.append(path)

    monkeypatch.setattr(cache, "_set_aside", record)
    second = upstream.change(PROJECT, 71, 2, {"a": "2"}, "Second")
    workspace = await local.prepare(now_event(71, 2, second), (), tmp_path / "two")

    assert workspace.main.revision == second
    assert set_aside == []  # undone, not fetched anew under the builds that borrow it
    assert len(counting.fetches) == 3
    assert git(mirror, "config", "--list", "--local").split() == [
        "core.repositoryformatversion=0",
        "core.filemode=true",
        "core.bare=true",
    ]
    assert not (mirror / "shallow").exists()
    assert not (mirror / "info" / "grafts").exists()
    assert not (mirror / "commondir").exists()
    # The operator reads that a build tampered with the mirror.
    (undone,) = [
        r.getMessage()
        for r in caplog.records
        if str(tmp_path) in r.getMessage() and "undone before fetching" in r.getMessage()
    ]
    assert undone.endswith("config, commondir, shallow, info/grafts")
    assert not (mirror / "config").is_symlink()
    # And for the very URL it fetches, no proxy and checked certificates, whatever git reads.
    exact = counting.configs[-1]
    assert exact[f"http.{remote.fetch_url(PROJECT)}.proxy"] == ""
    assert outside.read_text() == kept


async def test_a_mirror_lock_held_elsewhere_is_said_then_given_up(
    upstream: Upstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A process a build left behind may hold the mirror's lock for ever: the builds of
    the project wait, say so, and end as an infrastructure error rather than hang."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingGit()
    first = upstream.change(PROJECT, 81, 1, {"a": "1"}, "First")
    await builder(upstream, cache, counting).prepare(now_event(81, 1, first), (), tmp_path / "one")
    monkeypatch.setattr(mirror_files, "LOCK_WARN_AFTER", 0.2)
    monkeypatch.setattr(mirror_files, "LOCK_GIVE_UP", 0.6)
    mirror = mirror_of(cache)
    with (mirror.parent / (mirror.name + ".lock")).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as `flock <mirror>.lock sleep ...` would
        second = upstream.change(PROJECT, 81, 2, {"a": "2"}, "Second")
        with pytest.raises(GitError, match="held by another process for"):
            await builder(upstream, cache, counting).prepare(
                now_event(81, 2, second), (), tmp_path / "two"
            )
    assert "held by another process (a crosscheck fetching" in caplog.text
    workspace = await builder(upstream, cache, counting).prepare(
        now_event(81, 2, second), (), tmp_path / "three"
    )
    assert workspace.main.revision == second  # released: the next build goes on


def _break(mirror: Path, how: str, upstream: Upstream, tmp_path: Path) -> None:
    """Break `mirror` as a build on this host could."""
    redirect = f"url.{(tmp_path / 'elsewhere').as_uri()}/.insteadOf"
    if how == "config a FIFO":
        (mirror / "config").unlink()
        os.mkfifo(mirror / "config")
    elif how == "packed-refs endless":
        shutil.rmtree(mirror / "refs" / "heads")
        (mirror / "refs" / "heads").mkdir()
        (mirror / "packed-refs").unlink(missing_ok=True)
        (mirror / "packed-refs").symlink_to("/dev/zero")
    elif how == "FETCH_HEAD a directory":
        (mirror / "FETCH_HEAD").unlink(missing_ok=True)
        (mirror / "FETCH_HEAD").mkdir()
    elif how == "refs a file":
        shutil.rmtree(mirror / "refs")
        (mirror / "refs").write_text("not a directory\n")
    elif how == "HEAD removed, a redirect planted":
        git(mirror, "config", redirect, f"{upstream.url}/")
        (mirror / "HEAD").unlink()
    else:  # a repository planted around a mirror made unreadable
        git(mirror.parent, "init", "--quiet", "--bare", ".")
        git(mirror.parent, "config", redirect, f"{upstream.url}/")
        shutil.rmtree(mirror / "refs")
        (mirror / "refs").write_text("not a directory\n")


@pytest.mark.parametrize(
    "how",
    [
        "config a FIFO",
        "packed-refs endless",
        "FETCH_HEAD a directory",
        "refs a file",
        "HEAD removed, a redirect planted",
        "a repository around it",
    ],
)
async def test_a_mirror_a_build_broke_is_fetched_into_safely_and_at_once(
    upstream: Upstream, tmp_path: Path, how: str
) -> None:
    """Never a hang, an endless read, a fetch sent elsewhere, nor a project left unvoted."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingGit()
    first = upstream.change(PROJECT, 91, 1, {"a": "1"}, "First")
    await builder(upstream, cache, counting).prepare(now_event(91, 1, first), (), tmp_path / "one")
    _break(mirror_of(cache), how, upstream, tmp_path)
    second = upstream.change(PROJECT, 91, 2, {"a": "2"}, "Second")
    async with asyncio.timeout(60):
        workspace = await builder(upstream, cache, counting).prepare(
            now_event(91, 2, second), (), tmp_path / "two"
        )
    assert workspace.main.revision == second


@pytest.mark.parametrize("planted", ["a FIFO", "a link to another file"])
@pytest.mark.parametrize("beside", [".fetches", ".lock"])
async def test_the_files_beside_a_mirror_are_never_read_or_written_through_a_plant(
    upstream: Upstream, tmp_path: Path, planted: str, beside: str
) -> None:
    """A FIFO in place of the fetch count froze the whole service; a link there had it
    overwrite a file of the build's choosing."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingGit()
    first = upstream.change(PROJECT, 95, 1, {"a": "1"}, "First")
    await builder(upstream, cache, counting).prepare(now_event(95, 1, first), (), tmp_path / "one")
    mirror = mirror_of(cache)
    target = mirror.with_name(mirror.name + beside)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target.unlink(missing_ok=True)
    if planted == "a FIFO":
        os.mkfifo(target)
    else:
        target.symlink_to(victim)
    second = upstream.change(PROJECT, 95, 2, {"a": "2"}, "Second")
    async with asyncio.timeout(30):
        workspace = await builder(upstream, cache, counting).prepare(
            now_event(95, 2, second), (), tmp_path / "two"
        )
    assert workspace.main.revision == second
    assert victim.read_text() == "precious\n"
    if beside == ".fetches":
        assert not target.is_symlink()  # counting on, in a file of its own
        assert target.is_file()


async def test_a_hook_planted_in_the_mirror_never_runs_with_crosschecks_credentials(
    upstream: Upstream, tmp_path: Path
) -> None:
    first = upstream.change(PROJECT, 52, 1, {"a": "1"}, "First")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    await builder(upstream, cache, counting).prepare(now_event(52, 1, first), (), tmp_path / "one")
    mirror = mirror_of(cache)
    spied = tmp_path / "spied"
    for hook in ("reference-transaction", "post-checkout", "post-merge"):
        planted = mirror / "hooks" / hook
        planted.parent.mkdir(exist_ok=True)
        planted.write_text(f"#!/bin/sh\nenv >> {spied}\n")
        planted.chmod(0o755)
    git(mirror, "config", "core.fsmonitor", f"sh -c 'env >> {spied}'")

    second = upstream.change(PROJECT, 52, 2, {"a": "2"}, "Second")
    await builder(upstream, cache, counting).prepare(now_event(52, 2, second), (), tmp_path / "two")

    assert len(counting.fetches) == 2  # the mirror was fetched into again
    assert not spied.exists()


async def test_a_mirror_removed_behind_its_back_is_fetched_whole_again(
    upstream: Upstream, tmp_path: Path
) -> None:
    first = upstream.change(PROJECT, 53, 1, {"a": "1"}, "First")
    counting, cache = CountingGit(), MirrorCache(tmp_path / "git")
    event = now_event(53, 1, first)
    await builder(upstream, cache, counting).prepare(event, (), tmp_path / "one")
    mirror = mirror_of(cache)
    shutil.rmtree(mirror)  # an operator's clean-up, say
    counting.unreachable = True  # and Gerrit away for the next build: an empty mirror is left
    with pytest.raises(GitError):
        await builder(upstream, cache, counting).prepare(event, (), tmp_path / "two")

    counting.unreachable = False
    workspace = await builder(upstream, cache, counting).prepare(event, (), tmp_path / "three")

    # The branch tip fetched for the first build went with the mirror: fetched again.
    assert workspace.main.revision == first
    assert "refs/heads/master" in mirror_refs(cache)


async def test_a_fetch_from_a_gerrit_that_stops_answering_ends_in_seconds_as_a_stall(
    tmp_path: Path,
) -> None:
    """A server that takes the connection and then says nothing (hung, or a NAT entry
    dropped mid-fetch) ends the fetch after the stall time, not after GIT_TIMEOUT."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    remote = GerritRemote("stalled", f"http://127.0.0.1:{port}", False)
    workspaces = WorkspaceBuilder(Git(stall_time=2), MirrorCache(tmp_path / "git"), remote)
    started = time.monotonic()
    try:
        with pytest.raises(GitError) as raised:
            await workspaces.prepare(now_event(13, 1, "a" * 40), (), tmp_path / "src")
    finally:
        server.close()
        for writer in held:
            writer.close()
    assert time.monotonic() - started < 30
    assert "the server stalled (nothing for 2 s)" in str(raised.value)
    assert held, "git never reached the server: the test proved nothing"


async def test_a_fetch_offers_its_branch_tips_not_every_patchset_the_mirror_holds(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git offers every ref it holds by default: with each patchset built before in the
    mirror, a busy project's fetch would send thousands of lines before any object."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingGit()
    url = GerritRemote("upstream", upstream.url, False).fetch_url(PROJECT)
    for number in range(1, 21):
        revision = upstream.change(PROJECT, number, 1, {f"f{number}": "x"}, f"Change {number}")
        need = change_need(now_event(number, 1, revision))
        await cache.ensure(counting, "upstream", PROJECT, url, need)
    trace = tmp_path / "packets"
    environment = git_module.git_environment

    def traced(*args: Any, **kwargs: Any) -> dict[str, str]:
        return {**environment(*args, **kwargs), "GIT_TRACE_PACKET": str(trace)}

    monkeypatch.setattr(git_module, "git_environment", traced)
    revision = upstream.change(PROJECT, 21, 1, {"f21": "x"}, "Change 21")
    await cache.ensure(counting, "upstream", PROJECT, url, change_need(now_event(21, 1, revision)))

    haves = [line for line in trace.read_text().splitlines() if "fetch> have " in line]
    assert 1 <= len(haves) <= 2, len(haves)  # master's tip, not twenty patchsets
    assert git(mirror_of(cache), "rev-parse", "refs/changes/21/21/1") == revision


async def test_a_mirror_has_its_refs_packed_and_its_commits_indexed_now_and_then(
    upstream: Upstream, tmp_path: Path
) -> None:
    """A mirror keeps a ref per patchset built; loose and unindexed, each fetch read them
    all more slowly. The tidy-up runs after a fetch, never before a build's. Fetches are
    counted across processes: one `crosscheck run` after another, or a serve restarted
    before its 25th fetch, tidies all the same."""
    counting = CountingGit()
    url = GerritRemote("upstream", upstream.url, False).fetch_url(PROJECT)
    for number in range(1, 5):
        cache = MirrorCache(tmp_path / "git", tidy_every=2)  # a process of its own each
        revision = upstream.change(PROJECT, number, 1, {f"f{number}": "x"}, f"Change {number}")
        await cache.ensure(
            counting, "upstream", PROJECT, url, change_need(now_event(number, 1, revision))
        )
        await cache.settled()
        mirror = mirror_of(cache)
        packed = (mirror / "packed-refs").read_text() if (mirror / "packed-refs").exists() else ""
        # Every second fetch tidies, after it: its own ref is packed then.
        assert (f"refs/changes/0{number}/{number}/1" in packed) is (number in (2, 4)), number
    assert (mirror / "objects" / "info" / "commit-graphs" / "commit-graph-chain").exists()
    assert len(counting.fetches) == 4
    revision = upstream.change(PROJECT, 5, 1, {"f5": "x"}, "Change 5")
    workspace = await builder(upstream, cache, counting).prepare(
        now_event(5, 1, revision), (), tmp_path / "src"
    )
    assert workspace.main.revision == revision  # a packed mirror serves builds as before


async def test_a_mirror_keeps_the_refs_of_its_newest_changes_and_those_fetched_lately(
    upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A mirror would otherwise gather a ref per patchset built, for ever, and every
    fetch and clone read them all. A forgotten change's commits stay, so a recheck of
    it needs no fetch."""
    caplog.set_level(logging.INFO, logger="crosscheck.executor.mirrors")
    now = [time.time()]
    cache = MirrorCache(tmp_path / "git", clock=lambda: now[0], tidy_every=5, keep_changes=1)
    counting = CountingGit()
    url = GerritRemote("upstream", upstream.url, False).fetch_url(PROJECT)
    revisions = {}
    for number, patchset in ((1, 1), (2, 1), (3, 1), (1, 2), (4, 1)):
        if (number, patchset) == (1, 2):
            now[0] += 2 * 3600  # the first three fetched two hours ago
        revision = upstream.change(
            PROJECT, number, patchset, {f"f{number}": str(patchset)}, f"Change {number}"
        )
        revisions[number, patchset] = revision
        event = now_event(number, patchset, revision)
        await cache.ensure(counting, "upstream", PROJECT, url, change_need(event))
    await cache.settled()

    changes = [ref for ref in mirror_refs(cache) if ref.startswith("refs/changes/")]
    # The newest change, and change 1's patchset 2, fetched lately.
    assert sorted(changes) == ["refs/changes/01/1/2", "refs/changes/04/4/1"]
    (said,) = [r for r in caplog.records if "tidied in" in r.getMessage()]
    assert said.levelname == "INFO"  # an operator sees it work
    assert "3 ref(s) of changes older than the newest 1 forgotten" in said.getMessage()
    # What the fetches left loose is packed, the forgotten changes' objects too: kept.
    loose = git(mirror_of(cache), "count-objects", "-v").splitlines()
    unreachable = git(mirror_of(cache), "fsck", "--unreachable", "--no-reflogs").splitlines()
    assert "count: 0" in loose
    assert f"unreachable commit {revisions[2, 1]}" in unreachable
    fetched = len(counting.fetches)
    old = now_event(2, 1, revisions[2, 1])
    workspace = await builder(upstream, cache, counting).prepare(old, (), tmp_path / "src")
    assert workspace.main.revision == revisions[2, 1]  # fast-forwarded onto master
    assert len(counting.fetches) == fetched  # the commit was still there


async def test_a_ref_found_held_for_a_build_lately_is_kept_by_a_tidy_up(
    upstream: Upstream, tmp_path: Path
) -> None:
    """A build that finds its change's ref already in the mirror reads it from there
    later (a Depends-On or scenario build merges it by its ref): a tidy-up meanwhile,
    started by another build's fetch, must not forget it, however old its change."""
    now = [time.time()]
    cache = MirrorCache(tmp_path / "git", lambda: now[0], tidy_every=3, keep_changes=1)
    counting = CountingGit()
    url = GerritRemote("upstream", upstream.url, False).fetch_url(PROJECT)
    upstream.change(PROJECT, 5, 1, {"a": "1"}, "Change 5")
    ref = "refs/changes/05/5/1"
    await cache.ensure(counting, "upstream", PROJECT, url, Need({ref: ref}, since=now[0]))
    now[0] += 2 * 3600  # fetched two hours ago: no longer recent
    fetched = len(counting.fetches)
    await cache.ensure(counting, "upstream", PROJECT, url, Need({ref: ref}, since=now[0]))
    assert len(counting.fetches) == fetched  # held: not fetched again
    for number in (10, 11):  # other builds' fetches; the second starts a tidy-up
        revision = upstream.change(PROJECT, number, 1, {"b": str(number)}, f"Change {number}")
        await cache.ensure(
            counting, "upstream", PROJECT, url, change_need(now_event(number, 1, revision))
        )
    await cache.settled()

    changes = [r for r in mirror_refs(cache) if r.startswith("refs/changes/")]
    assert sorted(changes) == [
        "refs/changes/05/5/1",
        "refs/changes/10/10/1",
        "refs/changes/11/11/1",
    ]
    now[0] += 2 * 3600  # no build has needed it since: forgotten by the next tidy-up
    for number in (12, 13, 14):
        revision = upstream.change(PROJECT, number, 1, {"c": str(number)}, f"Change {number}")
        await cache.ensure(
            counting, "upstream", PROJECT, url, change_need(now_event(number, 1, revision))
        )
    await cache.settled()
    assert ref not in mirror_refs(cache)


async def test_a_build_keeps_what_it_borrows_when_a_tidy_up_forgets_its_change(
    upstream: Upstream, tmp_path: Path
) -> None:
    """A workspace on this host borrows the mirror's objects: a tidy-up that forgets its
    change's ref while it runs must not prune them, even where git's gc would."""
    now = [time.time()]
    cache = MirrorCache(tmp_path / "git", lambda: now[0], tidy_every=1, keep_changes=0)
    counting = CountingGit()
    remote = GerritRemote("upstream", upstream.url, False)
    local = WorkspaceBuilder(counting, cache, remote, shared=True)
    revision = upstream.change(PROJECT, 61, 1, {"big": "x" * 1000}, "Change 61")
    workspace = await local.prepare(now_event(61, 1, revision), (), tmp_path / "src")
    await cache.settled()
    mirror = mirror_of(cache)
    # As if two weeks had passed and a gc were due: git's own would prune it all now.
    git(mirror, "config", "gc.auto", "1")
    git(mirror, "config", "gc.autoPackLimit", "1")
    git(mirror, "config", "gc.pruneExpire", "now")
    now[0] += 2 * 3600  # the build has run for two hours: its ref is no longer recent
    other = upstream.change(PROJECT, 62, 1, {"o": "1"}, "Change 62")
    await cache.ensure(
        counting,
        "upstream",
        PROJECT,
        remote.fetch_url(PROJECT),
        change_need(now_event(62, 1, other)),
    )
    await cache.settled()

    assert not [ref for ref in mirror_refs(cache) if "/61/" in ref]  # forgotten
    clone = workspace.main.path
    assert git(clone, "cat-file", "-p", f"{revision}:big") == "x" * 1000
    git(clone, "fsck", "--connectivity-only")


async def test_a_tidy_up_stopped_midway_is_finished_by_the_next(
    upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache, counting = MirrorCache(tmp_path / "git", tidy_every=1), CountingGit()
    url = GerritRemote("upstream", upstream.url, False).fetch_url(PROJECT)
    first = upstream.change(PROJECT, 1, 1, {"f1": "x"}, "Change 1")
    await cache.ensure(counting, "upstream", PROJECT, url, change_need(now_event(1, 1, first)))
    await cache.settled()
    graph = mirror_of(cache) / "objects" / "info" / "commit-graphs" / "commit-graph-chain"
    left = graph.with_name("commit-graph-chain.lock")  # as a kill in commit-graph write
    graph.unlink()
    left.write_text("")

    second = upstream.change(PROJECT, 2, 1, {"f2": "x"}, "Change 2")
    await cache.ensure(counting, "upstream", PROJECT, url, change_need(now_event(2, 1, second)))
    await cache.settled()

    assert graph.exists()
    assert not left.exists()
    assert "removing the stale lock" in caplog.text
    assert "tidying it failed" not in caplog.text


async def test_a_mirror_without_branches_offers_nothing_rather_than_warn_and_fetch_all(
    upstream: Upstream, tmp_path: Path
) -> None:
    cache, counting = MirrorCache(tmp_path / "git"), CountingGit()
    url = GerritRemote("upstream", upstream.url, False).fetch_url(PROJECT)
    for number in (1, 2):  # the patchsets alone, no branch tip
        revision = upstream.change(PROJECT, number, 1, {f"f{number}": "x"}, f"Change {number}")
        await cache.ensure(
            counting,
            "upstream",
            PROJECT,
            url,
            Need({revision: f"refs/changes/0{number}/{number}/1"}),
        )
    revision = upstream.change(PROJECT, 3, 1, {"f3": "x"}, "Change 3")
    await cache.ensure(counting, "upstream", PROJECT, url, change_need(now_event(3, 1, revision)))
    revision = upstream.change(PROJECT, 4, 1, {"f4": "x"}, "Change 4")
    await cache.ensure(counting, "upstream", PROJECT, url, change_need(now_event(4, 1, revision)))

    offered = [NEGOTIATION_TIP in fetch for fetch in counting.fetches]
    assert offered == [False, False, False, True]  # new; no branch yet (twice); master held
    # No fetch runs git's gc or maintenance after it, outside the mirror's lock.
    assert all(AUTO_GC_OFF in fetch for fetch in counting.fetches)
