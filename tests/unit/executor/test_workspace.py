"""Workspaces from local repositories: merges, conflicts, required projects, no credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.executor.git import Git, GitError, HttpCredentials
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.workspace import GerritRemote, MergeConflictError, WorkspaceBuilder
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event, RefUpdate
from crosscheck.model.job import RequiredProject
from tests.unit.executor.conftest import PROJECT, change_event
from tests.unit.executor.gitrepos import Upstream, git

SECRET = "pa55-w0rd-never-on-disk"


def builder(
    upstream: Upstream, tmp_path: Path, credentials: HttpCredentials | None = None
) -> WorkspaceBuilder:
    remote = GerritRemote("upstream", upstream.url, authenticated=False)
    return WorkspaceBuilder(Git(credentials), MirrorCache(tmp_path / "git"), remote)


async def test_a_change_based_on_an_older_tip_is_merged_onto_the_current_tip(
    upstream: Upstream, tmp_path: Path
) -> None:
    base = git(upstream.root / PROJECT, "rev-parse", "master")
    revision = upstream.change(
        PROJECT, 1042, 1, {"driver.py": "fixed\n"}, "Fix the driver", start=base
    )
    tip = upstream.commit(PROJECT, {"other.txt": "newer\n"}, "Someone else's change")

    workspace = await builder(upstream, tmp_path).prepare(
        change_event(1042, 1, revision), (), tmp_path / "src"
    )

    checkout = workspace.main
    assert checkout.path == tmp_path / "src" / "acme" / "driver"
    assert (checkout.path / "driver.py").read_text() == "fixed\n"
    assert (checkout.path / "other.txt").read_text() == "newer\n"
    parents = git(checkout.path, "log", "-1", "--format=%P").split()
    assert set(parents) == {tip, revision}
    assert git(checkout.path, "rev-parse", "--abbrev-ref", "HEAD") == "master"
    assert workspace.commit_message.startswith("Merge")


async def test_a_change_on_the_tip_is_checked_out_as_itself(
    upstream: Upstream, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 7, 2, {"driver.py": "v2\n"}, "Driver v2\n\nWhy it matters.")
    workspace = await builder(upstream, tmp_path).prepare(
        change_event(7, 2, revision), (), tmp_path / "src"
    )
    assert workspace.main.revision == revision
    assert workspace.commit_message == "Driver v2\n\nWhy it matters."


async def test_a_conflicting_change_names_the_conflicting_files(
    upstream: Upstream, tmp_path: Path
) -> None:
    base = git(upstream.root / PROJECT, "rev-parse", "master")
    revision = upstream.change(
        PROJECT,
        1043,
        1,
        {"shared.txt": "theirs\n", "README": "theirs\n", "new.txt": "x"},
        "Edit",
        start=base,
    )
    upstream.commit(PROJECT, {"shared.txt": "ours\n", "README": "ours\n"}, "Conflicting edit")

    with pytest.raises(MergeConflictError) as raised:
        await builder(upstream, tmp_path).prepare(
            change_event(1043, 1, revision), (), tmp_path / "src"
        )

    assert raised.value.files == ("README", "shared.txt")
    # The report's headline names the patchset and the branch: the reason is the files.
    assert str(raised.value) == "conflict in README, shared.txt"


async def test_a_change_with_a_history_of_its_own_does_not_merge(
    upstream: Upstream, tmp_path: Path
) -> None:
    bare = upstream.root / PROJECT
    empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    revision = git(bare, "commit-tree", empty_tree, "-m", "Unrelated root")
    git(bare, "update-ref", "refs/changes/44/1044/1", revision)
    with pytest.raises(MergeConflictError, match="unrelated histories"):
        await builder(upstream, tmp_path).prepare(
            change_event(1044, 1, revision), (), tmp_path / "src"
        )


class MergeCannotRun(Git):
    """git whose merge fails as when the workspace lacks the commit to merge."""

    async def run(self, *args: str, cwd: Path | None = None, **kwargs: object) -> str:
        if args[0] == "merge":
            stderr = f"merge: {args[-1]} - not something we can merge\n"
            raise GitError("`git merge` failed (exit 1): " + stderr.strip(), 1, stderr)
        return await super().run(*args, cwd=cwd, **kwargs)  # type: ignore[arg-type]


async def test_a_merge_that_cannot_run_is_the_infrastructures_not_a_conflict(
    upstream: Upstream, tmp_path: Path
) -> None:
    """A commit missing from the workspace is no reason to tell the author to rebase."""
    base = git(upstream.root / PROJECT, "rev-parse", "master")
    revision = upstream.change(PROJECT, 1045, 1, {"a.txt": "a"}, "Edit", start=base)
    upstream.commit(PROJECT, {"b.txt": "b"}, "Someone else's")
    remote = GerritRemote("upstream", upstream.url, authenticated=False)
    failing = WorkspaceBuilder(MergeCannotRun(), MirrorCache(tmp_path / "git"), remote)
    with pytest.raises(GitError) as raised:
        await failing.prepare(change_event(1045, 1, revision), (), tmp_path / "src")
    assert not isinstance(raised.value, MergeConflictError)
    assert "could not run" in str(raised.value)
    assert "not something we can merge" in str(raised.value)


async def test_required_projects_follow_the_change_branch_then_master_or_main(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.create("acme/lib", {"lib.txt": "master\n"})
    upstream.commit("acme/lib", {"lib.txt": "stable\n"}, "Stable", branch="stable/2026")
    upstream.create("acme/tools", {"tools.txt": "main\n"}, branch="main")
    upstream.create("acme/pinned", {"v.txt": "1.0\n"})
    upstream.tag("acme/pinned", "1.0")
    upstream.commit("acme/pinned", {"v.txt": "2.0\n"}, "Newer")
    upstream.commit(PROJECT, {"x": "y"}, "Stable branch", branch="stable/2026")
    revision = upstream.change(PROJECT, 5, 1, {"a": "b"}, "On stable", branch="stable/2026")

    required = (
        RequiredProject("acme/lib"),
        RequiredProject("acme/tools"),
        RequiredProject("acme/pinned", version="1.0"),
        RequiredProject(PROJECT),  # the change's own project is never checked out twice
    )
    workspace = await builder(upstream, tmp_path).prepare(
        change_event(5, 1, revision, branch="stable/2026"), required, tmp_path / "src"
    )

    src = tmp_path / "src" / "acme"
    assert (src / "lib" / "lib.txt").read_text() == "stable\n"
    assert (src / "tools" / "tools.txt").read_text() == "main\n"
    assert (src / "pinned" / "v.txt").read_text() == "1.0\n"
    assert [(c.project, c.branch) for c in workspace.required] == [
        ("acme/lib", "stable/2026"),
        ("acme/tools", "main"),
        ("acme/pinned", None),
    ]


async def test_a_missing_required_branch_or_version_is_an_error_naming_it(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.create("acme/lib", {"lib.txt": "x"})
    revision = upstream.change(PROJECT, 6, 1, {"a": "b"}, "Change")
    with pytest.raises(
        GitError, match=r"acme/lib has no branch 'feature'|acme/lib has no branch feature"
    ):
        await builder(upstream, tmp_path).prepare(
            change_event(6, 1, revision),
            (RequiredProject("acme/lib", branch="feature"),),
            tmp_path / "a",
        )
    with pytest.raises(GitError, match=r"acme/lib has no version '9\.9'"):
        await builder(upstream, tmp_path).prepare(
            change_event(6, 1, revision),
            (RequiredProject("acme/lib", version="9.9"),),
            tmp_path / "b",
        )


async def test_a_missing_project_is_an_error_naming_it(upstream: Upstream, tmp_path: Path) -> None:
    with pytest.raises(
        GitError,
        match=r"^git fetch of refs/changes/08/8/1 from \S+/acme/ghost: repository not found$",
    ):
        await builder(upstream, tmp_path).prepare(
            change_event(8, 1, project="acme/ghost"), (), tmp_path / "src"
        )


async def test_the_workspace_holds_no_credentials_and_no_path_to_the_cache(
    upstream: Upstream, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 9, 1, {"a": "b"}, "Change")
    credentials = HttpCredentials(upstream.url, "acme-ci", SECRET)
    await builder(upstream, tmp_path, credentials).prepare(
        change_event(9, 1, revision), (), tmp_path / "src"
    )

    checkout = tmp_path / "src" / "acme" / "driver"
    assert git(checkout, "remote", "get-url", "origin") == f"{upstream.url}/{PROJECT}"
    for root in (tmp_path / "src", tmp_path / "git"):
        for path in root.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path
    assert str(tmp_path / "git") not in (checkout / ".git" / "config").read_text()


async def test_a_second_build_fetches_into_the_same_mirror(
    upstream: Upstream, tmp_path: Path
) -> None:
    first = upstream.change(PROJECT, 10, 1, {"a": "1"}, "First")
    make = builder(upstream, tmp_path)
    await make.prepare(change_event(10, 1, first), (), tmp_path / "one")
    second = upstream.change(PROJECT, 10, 2, {"a": "2"}, "Second")
    workspace = await make.prepare(change_event(10, 2, second), (), tmp_path / "two")
    assert workspace.main.revision == second
    (server,) = (tmp_path / "git").glob("upstream-*")
    mirrors = list((server / "acme").iterdir())
    assert [m.name for m in mirrors if m.is_dir()] == ["driver.git"]


def test_two_servers_behind_one_connection_name_get_their_own_mirrors(tmp_path: Path) -> None:
    cache = MirrorCache(tmp_path)
    one = cache.path_for("sandbox", "acme/driver", "http://127.0.0.1:8081/a/acme/driver")
    two = cache.path_for("sandbox", "acme/driver", "http://127.0.0.1:8082/a/acme/driver")
    again = cache.path_for("sandbox", "acme/tools", "http://127.0.0.1:8081/a/acme/tools")
    assert one != two
    assert one.parent == again.parent  # one server's projects stay together


async def test_a_ref_updated_event_checks_out_the_new_revision(
    upstream: Upstream, tmp_path: Path
) -> None:
    old = git(upstream.root / PROJECT, "rev-parse", "master")
    new = upstream.commit(PROJECT, {"merged.txt": "yes"}, "Merged")
    upstream.commit(PROJECT, {"later.txt": "later"}, "Later")
    event = Event(
        type=EventType.REF_UPDATED,
        connection="upstream",
        created_on=1,
        project=PROJECT,
        ref_update=RefUpdate(PROJECT, "refs/heads/master", old, new),
    )
    workspace = await builder(upstream, tmp_path).prepare(event, (), tmp_path / "src")
    assert workspace.main.revision == new
    assert workspace.main.branch == "master"
