"""Gerrit 3.10's real event lines, parsed into typed events; bad input never crashes."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosscheck.drivers.gerrit.events import EventParseError, parse_event, parse_line
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event, Origin
from tests.fixtures.gerrit_events import LINES
from tests.fixtures.gerrit_events import recorded_event as recorded


def parsed(kind: str) -> Event:
    return parse_event(recorded(kind), "review")


def test_every_type_the_driver_knows_was_recorded() -> None:
    kinds = {json.loads(line)["type"] for line in LINES}
    assert {t.value for t in EventType} <= kinds


@pytest.mark.parametrize("line", LINES)
def test_every_recorded_line_parses(line: str) -> None:
    event = parse_line(line, "review")
    assert event.known
    assert event.created_on > 1_700_000_000
    assert event.project == "sandbox/ci-sandbox"


def test_patchset_created() -> None:
    event = parsed("patchset-created")
    assert event.change is not None
    assert event.patchset is not None
    assert event.change.project == "sandbox/ci-sandbox"
    assert event.change.branch == "master"
    assert event.change.change_id.startswith("I")
    assert event.patchset.number == 1
    assert len(event.patchset.revision) == 40
    assert (
        event.patchset.ref == f"refs/changes/{event.change.number % 100:02d}/"
        f"{event.change.number}/1"
    )
    assert event.account is not None
    assert event.account.username == "admin"
    assert event.ref == event.patchset.ref


def test_comment_added_with_its_text_and_approvals() -> None:
    comments = [
        parse_line(line, "review") for line in LINES if json.loads(line)["type"] == "comment-added"
    ]
    recheck = next(e for e in comments if e.comment and e.comment.endswith("recheck"))
    assert recheck.comment == "Patch Set 1:\n\nrecheck"
    # Gerrit lists every label on each comment; the CI account's comment holds its vote.
    vote = next(e for e in comments if e.account and e.account.username == "crosscheck-ci")
    verified = next(a for a in vote.approvals if a.label == "Verified")
    assert (verified.value, verified.old_value) == (1, 0)
    assert vote.account is not None
    assert vote.account.username == "crosscheck-ci"


@pytest.mark.parametrize(
    ("kind", "actor"),
    [
        ("change-merged", "admin"),
        ("change-abandoned", "admin"),
        ("change-restored", "admin"),
        ("wip-state-changed", "admin"),
        ("private-state-changed", "admin"),
        ("topic-changed", "admin"),
        ("hashtags-changed", "admin"),
        ("reviewer-added", "admin"),
        ("change-deleted", "admin"),
        ("ref-updated", "admin"),
    ],
)
def test_who_caused_each_type(kind: str, actor: str) -> None:
    event = parsed(kind)
    assert event.account is not None
    assert event.account.username == actor


def test_type_specific_fields() -> None:
    assert parsed("change-abandoned").comment == "abandoning"
    assert parsed("topic-changed").change.topic == "recorded"  # type: ignore[union-attr]
    assert parsed("hashtags-changed").extra["added"] == "recorded"
    assert parsed("reviewer-added").reviewer.username == "crosscheck-ci"  # type: ignore[union-attr]
    assert len(parsed("change-merged").extra["newRev"]) == 40
    update = parsed("ref-updated").ref_update
    assert update is not None
    assert update.ref.startswith("refs/")


def test_a_webhook_project_may_be_an_object() -> None:
    data = recorded("patchset-created") | {"project": {"name": "sandbox/ci-sandbox"}}
    event = parse_event(data, "review", Origin.WEBHOOK)
    assert event.project == "sandbox/ci-sandbox"
    assert event.origin is Origin.WEBHOOK


def test_an_unknown_type_becomes_a_generic_event() -> None:
    event = parse_line(
        '{"type": "vote-deleted", "eventCreatedOn": 1795422975, "project": "p"}', "review"
    )
    assert not event.known
    assert (event.type, event.project, event.created_on) == ("vote-deleted", "p", 1795422975)


@pytest.mark.parametrize("line", ["", "not json", "[1, 2]", '"text"', "{}", '{"type": 3}'])
def test_what_is_not_an_event_raises_a_parse_error(line: str) -> None:
    with pytest.raises(EventParseError):
        parse_line(line, "review")


@pytest.mark.parametrize(
    ("kind", "missing"),
    [("patchset-created", "change"), ("change-abandoned", "change"), ("comment-added", "patchset")],
)
def test_a_change_event_without_its_change_or_patchset_is_not_an_event(
    kind: str, missing: str
) -> None:
    """A half-formed event must never become an item of the branch tip (which would run
    the project's jobs on it)."""
    data = json.loads(next(line for line in LINES if f'"type":"{kind}"' in line.replace(" ", "")))
    data.pop({"change": "change", "patchset": "patchSet"}[missing])
    with pytest.raises(EventParseError, match=f"without its {missing}"):
        parse_event(data, "review")


def test_copies_of_one_event_share_a_key() -> None:
    line = LINES[0]
    stream = parse_line(line, "review")
    webhook = parse_line(line, "review", Origin.WEBHOOK)
    assert stream.key == webhook.key
    other = parse_line(LINES[1], "review")
    assert other.key != stream.key


def mutate(value: Any, draw: Any) -> Any:
    """Drop, replace or retype parts of a real event."""
    if isinstance(value, dict):
        return {k: mutate(v, draw) for k, v in value.items() if draw(st.booleans())}
    if isinstance(value, list):
        return [mutate(v, draw) for v in value]
    return draw(
        st.one_of(
            st.just(value),
            st.none(),
            st.integers(),
            st.text(max_size=5),
            st.booleans(),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        )
    )


@settings(max_examples=300, deadline=None)
@given(data=st.data(), index=st.integers(min_value=0, max_value=len(LINES) - 1))
def test_mutated_real_events_never_crash_the_parser(data: st.DataObject, index: int) -> None:
    event = mutate(json.loads(LINES[index]), data.draw)
    try:
        parsed_event = parse_event(event, "review")
    except EventParseError:
        return
    assert isinstance(parsed_event.key, str)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_arbitrary_lines_never_crash_the_parser(line: str | bytes) -> None:
    with contextlib.suppress(EventParseError):
        assert isinstance(parse_line(line, "review").key, str)


def test_a_change_marked_ready_says_it_is_no_longer_wip() -> None:
    # Gerrit omits `wip` once the change is ready: the event must read as not WIP, or
    # skip_wip would keep a change marked ready from ever being tested.
    toggles = [
        parse_line(line, "review")
        for line in LINES
        if json.loads(line)["type"] == "wip-state-changed"
    ]
    assert [e.change.wip for e in toggles if e.change] == [True, False]


@pytest.mark.parametrize(
    ("kind", "closed"),
    [("change-abandoned", True), ("change-merged", True), ("change-restored", False)],
)
def test_an_abandoned_or_merged_change_reads_as_closed(kind: str, closed: bool) -> None:
    change = parsed(kind).change
    assert change is not None
    assert change.closed is closed
