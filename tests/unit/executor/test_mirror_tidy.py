"""Which change refs a mirror's tidy-up forgets: all but the newest changes' and the
ones fetched lately; and how long it may hold the mirror's lock."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from crosscheck.executor import mirror_files, mirror_tidy
from crosscheck.executor.git import Git, GitError
from crosscheck.executor.mirror_tidy import stale_change_refs
from tests.unit.executor.gitrepos import git


def test_the_refs_of_all_but_the_newest_changes_are_stale() -> None:
    refs = [
        "refs/heads/master",
        "refs/tags/v1",
        "refs/changes/09/9/1",
        "refs/changes/09/9/2",
        "refs/changes/10/10/1",
        "refs/changes/11/11/3",
    ]
    # Numbers, not text: change 9 is older than 10 and 11 though "09" sorts first.
    assert stale_change_refs(refs, 2, set()) == ["refs/changes/09/9/1", "refs/changes/09/9/2"]
    assert stale_change_refs(refs, 3, set()) == []


def test_a_ref_fetched_lately_stays_however_old_its_change() -> None:
    refs = ["refs/changes/01/1/1", "refs/changes/01/1/2", "refs/changes/02/2/1"]
    assert stale_change_refs(refs, 1, {"refs/changes/01/1/2"}) == ["refs/changes/01/1/1"]


def test_nothing_but_change_refs_is_ever_stale() -> None:
    refs = ["refs/heads/1", "refs/tags/2", "refs/changes/xx/3", "refs/meta/config"]
    assert stale_change_refs(refs, 0, set()) == []


def test_a_tidy_up_never_holds_the_lock_as_long_as_others_wait_for_it() -> None:
    assert mirror_tidy.TIDY_DEADLINE < mirror_files.LOCK_GIVE_UP


class _SlowRepack(Git):
    async def run(self, *args: str, **kwargs: Any) -> str:
        if args[0] == "repack":
            await asyncio.sleep(30)
        return await super().run(*args, **kwargs)


async def test_a_tidy_up_past_its_deadline_is_stopped_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "driver.git"
    git(tmp_path, "init", "--quiet", "--bare", str(mirror))
    monkeypatch.setattr(mirror_tidy, "TIDY_DEADLINE", 0.5)

    began = time.monotonic()
    with pytest.raises(GitError, match="took longer than 0 s and was stopped"):
        await mirror_tidy.tidy(_SlowRepack(), mirror, 10, set())
    assert time.monotonic() - began < 10
