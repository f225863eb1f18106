"""A plain git remote's branches and tags, read with a real `git ls-remote` on a local
repository (a file path is a git URL to git, as https is)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crosscheck.drivers.base import DriverError, DriverNotFoundError
from crosscheck.drivers.git.remote import GitRemote


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, str]:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "1",
        cwd=work)  # fmt: skip
    head = git("rev-parse", "HEAD", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@e", "tag", "-a", "v1", "-m", "v1", cwd=work)
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare, head


async def test_a_branch_and_an_annotated_tag_name_their_commit(remote: tuple[Path, str]) -> None:
    bare, head = remote
    source = GitRemote()
    assert await source.commit_of(str(bare), "branch", "main") == head
    assert await source.commit_of(str(bare), "tag", "v1") == head  # the commit, not the tag
    with pytest.raises(DriverNotFoundError, match="has no tag 'v2'"):
        await source.commit_of(str(bare), "tag", "v2")
    assert await source.has_commit(str(bare), head) is None  # a remote cannot say


async def test_a_remote_that_is_not_there_is_a_driver_error(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="git ls-remote"):
        await GitRemote().commit_of(str(tmp_path / "missing.git"), "branch", "main")
