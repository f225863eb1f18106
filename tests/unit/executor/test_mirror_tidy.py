"""Which change refs a mirror's tidy-up forgets: all but the newest changes' and the
ones fetched lately."""

from __future__ import annotations

from crosscheck.executor.mirror_tidy import stale_change_refs


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
