"""On a local node a change's clone is made while its mirror fetches, and kept only if
it checked out the tip the fetch brought."""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from crosscheck.executor.git import GitError
from crosscheck.executor.mirror_files import reset_and_check_branches
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.workspace import GerritRemote, WorkspaceBuilder
from tests.unit.executor.conftest import PROJECT, change_event
from tests.unit.executor.gitrepos import Upstream, git
from tests.unit.executor.test_mirrors import CountingGit, now_event


class CountingClones(CountingGit):
    """Counts the clones too, each with whether it succeeded."""

    def __init__(self) -> None:
        super().__init__()
        self.clones: list[bool] = []

    async def run(self, *args: str, cwd: Path | None = None, **kwargs: object) -> str:
        if args[0] != "clone":
            return await super().run(*args, cwd=cwd, **kwargs)
        try:
            out = await super().run(*args, cwd=cwd, **kwargs)
        except GitError:
            self.clones.append(False)
            raise
        self.clones.append(True)
        return out


def local_builder(
    upstream: Upstream, cache: MirrorCache, counting: CountingGit
) -> WorkspaceBuilder:
    remote = GerritRemote("upstream", upstream.url, False)
    return WorkspaceBuilder(counting, cache, remote, shared=True)


async def test_the_clone_is_made_while_the_fetch_runs(upstream: Upstream, tmp_path: Path) -> None:
    cache, counting = MirrorCache(tmp_path / "git"), CountingClones()
    builder = local_builder(upstream, cache, counting)
    first = upstream.change(PROJECT, 1, 1, {"a": "1"}, "Change 1")
    await builder.prepare(now_event(1, 1, first), (), tmp_path / "one")  # the mirror made
    second = upstream.change(PROJECT, 2, 1, {"b": "2"}, "Change 2")
    counting.gate = asyncio.Event()  # the fetch waits
    build = asyncio.create_task(builder.prepare(now_event(2, 1, second), (), tmp_path / "two"))
    clone = tmp_path / "two" / PROJECT
    async with asyncio.timeout(30):
        while not (clone / ".git" / "HEAD").exists() or not counting.fetches[1:]:
            await asyncio.sleep(0.01)
    assert not build.done()  # cloned, its fetch still held
    counting.gate.set()
    workspace = await build
    assert workspace.main.revision == second
    assert counting.clones == [True, True]  # one each: the early one was kept
    assert git(clone, "remote", "get-url", "origin") == f"{upstream.url}/{PROJECT}"


async def test_a_clone_of_a_tip_the_fetch_moved_is_made_again(
    upstream: Upstream, tmp_path: Path
) -> None:
    """The branch moved (a merge) after the mirror's last fetch: the early clone checked
    out the old tip; the workspace is merged onto the new one."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingClones()
    builder = local_builder(upstream, cache, counting)
    first = upstream.change(PROJECT, 1, 1, {"a": "1"}, "Change 1")
    await builder.prepare(now_event(1, 1, first), (), tmp_path / "one")
    old_tip = git(tmp_path / "one" / PROJECT, "rev-parse", "HEAD~0")
    second = upstream.change(PROJECT, 2, 1, {"b": "2"}, "Change 2")
    merged = upstream.commit(PROJECT, {"merged": "x"}, "Merged meanwhile")
    counting.gate = asyncio.Event()  # the fetch waits until the early clone has begun
    build = asyncio.create_task(builder.prepare(now_event(2, 1, second), (), tmp_path / "two"))
    early = tmp_path / "two" / PROJECT / ".git" / "index"  # checked out: the old tip
    async with asyncio.timeout(30):
        while not early.exists() or not counting.fetches[1:]:
            await asyncio.sleep(0.01)
    counting.gate.set()
    workspace = await build
    clone = workspace.main.path
    parents = git(clone, "rev-list", "--parents", "-n", "1", "HEAD").split()[1:]
    assert set(parents) == {merged, second}  # merged onto the new tip, not the old
    assert old_tip not in parents
    assert git(clone, "remote", "get-url", "origin") == f"{upstream.url}/{PROJECT}"
    assert git(clone, "status", "--porcelain") == ""
    assert counting.clones == [True, True, True]  # the early clone of the old tip, again


async def test_a_change_on_a_branch_the_mirror_lacks_is_cloned_after_the_fetch(
    upstream: Upstream, tmp_path: Path
) -> None:
    cache, counting = MirrorCache(tmp_path / "git"), CountingClones()
    builder = local_builder(upstream, cache, counting)
    first = upstream.change(PROJECT, 1, 1, {"a": "1"}, "Change 1")
    await builder.prepare(now_event(1, 1, first), (), tmp_path / "one")
    upstream.commit(PROJECT, {"s": "1"}, "Stable", branch="stable")
    revision = upstream.change(PROJECT, 3, 1, {"c": "3"}, "Change 3", branch="stable")
    event = replace(change_event(3, 1, revision, branch="stable"), created_on=int(time.time()))
    workspace = await builder.prepare(event, (), tmp_path / "three")
    assert workspace.main.revision == revision
    assert workspace.main.branch == "stable"
    # No stable branch yet: the early clone fails and the clone comes after the fetch;
    # on a busy machine the fetch may end first, and the one clone then finds it.
    assert counting.clones in ([True, False, True], [True, True]), counting.clones


async def test_a_clone_made_while_the_mirror_borrowed_from_elsewhere_is_made_again(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build with `confine: none` planted a `commondir` in the mirror; the next build's
    early clone, made before the fetch undid it, borrows that other object store, which
    never gets the change's commits: the merge would fail as an infrastructure error."""
    cache, counting = MirrorCache(tmp_path / "git"), CountingClones()
    builder = local_builder(upstream, cache, counting)
    first = upstream.change(PROJECT, 1, 1, {"a": "1"}, "Change 1")
    await builder.prepare(now_event(1, 1, first), (), tmp_path / "one")
    (mirror,) = (tmp_path / "git").glob(f"*/{PROJECT}.git")
    shutil.copytree(mirror, tmp_path / "elsewhere.git")
    (mirror / "commondir").write_text(f"{tmp_path / 'elsewhere.git'}\n")
    alternates = tmp_path / "two" / PROJECT / ".git" / "objects" / "info" / "alternates"

    def reset_once_borrowed(path: Path) -> bool:  # the early clone chose first, every time
        deadline = time.monotonic() + 30
        while not alternates.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return reset_and_check_branches(path)

    monkeypatch.setattr("crosscheck.executor.mirrors.reset_and_check_branches", reset_once_borrowed)
    second = upstream.change(PROJECT, 2, 1, {"b": "2"}, "Change 2")
    workspace = await builder.prepare(now_event(2, 1, second), (), tmp_path / "two")
    assert workspace.main.revision == second
    assert counting.clones == [True, True, True]  # the early one dropped, cloned again
    assert alternates.read_text().strip() == str((mirror / "objects").resolve())
