"""Copies of one event are the same; two events are never taken for copies."""

from __future__ import annotations

from dataclasses import replace

from crosscheck.model.event_types import EventType
from crosscheck.model.events import Account, Approval, Change, Event, Origin

ALICE = Account(name="Alice", username="alice")
BOB = Account(name="Bob", username="bob")
CAROL = Account(name="Carol", username="carol")


def change(**fields: object) -> Change:
    return replace(Change(project="p", branch="main", number=7), **fields)  # type: ignore[arg-type]


def event(type_: str, **fields: object) -> Event:
    base = Event(type=type_, connection="g", created_on=1000, change=change(), account=ALICE)
    return replace(base, **fields)  # type: ignore[arg-type]


def test_copies_of_one_event_share_sameness_whatever_their_origin() -> None:
    stream = event(EventType.REVIEWER_ADDED, reviewer=BOB)
    webhook = replace(stream, origin=Origin.WEBHOOK, created_on=1001)
    assert stream.sameness == webhook.sameness


def test_reviewers_added_in_one_second_are_two_events() -> None:
    assert (
        event(EventType.REVIEWER_ADDED, reviewer=BOB).sameness
        != event(EventType.REVIEWER_ADDED, reviewer=CAROL).sameness
    )


def test_topic_changes_in_one_second_are_two_events() -> None:
    first = event(EventType.TOPIC_CHANGED, change=change(topic="a"), extra={"oldTopic": ""})
    second = event(EventType.TOPIC_CHANGED, change=change(topic="b"), extra={"oldTopic": "a"})
    assert first.sameness != second.sameness


def test_hashtag_changes_differ_by_what_was_added_and_removed() -> None:
    added = event(EventType.HASHTAGS_CHANGED, extra={"added": "x"})
    removed = event(EventType.HASHTAGS_CHANGED, extra={"removed": "x"})
    assert added.sameness != removed.sameness


def test_wip_and_private_toggles_back_and_forth_are_distinct() -> None:
    for type_, on, off in (
        (EventType.WIP_STATE_CHANGED, change(wip=True), change(wip=False)),
        (EventType.PRIVATE_STATE_CHANGED, change(private=True), change(private=False)),
    ):
        assert event(type_, change=on).sameness != event(type_, change=off).sameness


def test_comment_votes_do_not_split_stream_and_rest_copies() -> None:
    # The stream lists every vote the author holds; REST messages only the new ones.
    stream = event(
        EventType.COMMENT_ADDED,
        comment="Patch Set 1: Code-Review+1",
        approvals=(Approval("Code-Review", 1), Approval("Verified", 1)),
    )
    rest = replace(stream, approvals=(Approval("Code-Review", 1),), origin=Origin.CATCHUP)
    assert stream.sameness == rest.sameness
