"""Stackalytics' count: one vote per merged change, on its merged patchset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosscheck.model.events import Account, Change, Event, PatchSet
from crosscheck.results.merges import MergedVotes, VoteRow, merge_of, tally_votes

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def vote(account: int, change: int, job: str, value: str, at: tuple[int, int]) -> VoteRow:
    """`at`: (minutes after T0, result id)."""
    minutes, id_ = at
    return (account, change, job, value, T0 + timedelta(minutes=minutes), id_)


def test_a_change_passes_when_every_current_final_job_passed() -> None:
    rows = [
        vote(1, 10, "unit", "passed", (0, 1)),
        vote(1, 10, "tempest", "passed", (1, 2)),
        vote(1, 11, "unit", "passed", (0, 3)),
        vote(1, 11, "tempest", "failed", (1, 4)),
    ]
    assert tally_votes(rows) == {1: MergedVotes(votes=2, passed=1)}


def test_a_rerun_replaces_the_failure_it_follows() -> None:
    rows = [vote(1, 10, "unit", "failed", (0, 1)), vote(1, 10, "unit", "passed", (5, 2))]
    assert tally_votes(rows) == {1: MergedVotes(1, 1)}
    # Order of rows does not matter: the newest by time (then id) is current.
    assert tally_votes(list(reversed(rows))) == {1: MergedVotes(1, 1)}


def test_in_progress_and_skipped_are_no_vote() -> None:
    rows = [vote(1, 10, "unit", "in_progress", (0, 1)), vote(2, 10, "unit", "skipped", (0, 2))]
    assert tally_votes(rows) == {}


def test_accounts_are_counted_apart() -> None:
    rows = [vote(1, 10, "unit", "passed", (0, 1)), vote(2, 10, "unit", "unstable", (0, 2))]
    assert tally_votes(rows) == {1: MergedVotes(1, 1), 2: MergedVotes(1, 0)}
    assert MergedVotes(4, 3).success_rate == 0.75
    assert MergedVotes().success_rate is None


def test_a_change_merged_event_is_a_merge_at_its_patchset() -> None:
    change = Change(project="p", branch="main", number=7, status="MERGED")
    event = Event(
        type="change-merged",
        connection="gerrit",
        created_on=int(T0.timestamp()),
        change=change,
        patchset=PatchSet(number=3, revision="a" * 40),
        account=Account(username="bob"),
    )
    merge = merge_of(event)
    assert merge is not None
    assert (merge.change, merge.project, merge.patchset, merge.merged_at) == (7, "p", 3, T0)
    assert merge_of(Event(type="patchset-created", connection="g", created_on=0)) is None
