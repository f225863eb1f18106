"""ChangeWatch: the stream's word that a fresh upload is current and its change open,
only while nothing could have been missed; the planning read it spares GerritChanges,
and the read before a vote it never spares."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from crosscheck.drivers.gerrit.changes import GerritChanges
from crosscheck.drivers.gerrit.reporter import GerritReporter
from crosscheck.drivers.gerrit.watch import ChangeWatch
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change as EventChange
from crosscheck.model.events import Event, PatchSet
from crosscheck.model.report import Report, ReportState
from tests.fakes.gerrit import Change, FakeGerrit, Revision

FIRST, SECOND = "1" * 40, "2" * 40
CONNECTION = GerritConnection(name="review", host="h", user="ci", http_url="http://h/")


@dataclass
class Stream:
    live: bool = True
    connects: int = 1
    waiting_lines: int = 0


def event(
    kind: str, change: int = 12, patchset: int = 1, revision: str = FIRST, age: float = 0
) -> Event:
    return Event(
        type=kind,
        connection="review",
        created_on=int(time.time() - age),
        project="acme/driver",
        change=EventChange(project="acme/driver", branch="master", number=change),
        patchset=PatchSet(patchset, revision),
    )


def live_watch(stream: Stream | None = None) -> tuple[ChangeWatch, Stream]:
    watch, stream = ChangeWatch(), stream or Stream()
    watch.went_live(stream)
    return watch, stream


def test_an_upload_seen_live_is_vouched_for_until_the_change_moves() -> None:
    watch, _ = live_watch()
    assert watch.current_patchset(12, FIRST) is None  # never seen
    watch.observe(event(EventType.PATCHSET_CREATED))
    assert watch.current_patchset(12, FIRST) == 1
    assert watch.current_patchset(12, SECOND) is None
    watch.observe(event(EventType.COMMENT_ADDED))  # the CI's own start message, say
    assert watch.current_patchset(12, FIRST) == 1
    watch.observe(event(EventType.PATCHSET_CREATED, patchset=2, revision=SECOND))
    assert watch.current_patchset(12, FIRST) is None
    assert watch.current_patchset(12, SECOND) == 2
    # A late copy of the older upload (a webhook, say) does not turn the clock back.
    watch.observe(event(EventType.PATCHSET_CREATED))
    assert watch.current_patchset(12, SECOND) == 2


@pytest.mark.parametrize(
    "kind", [EventType.CHANGE_ABANDONED, EventType.CHANGE_MERGED, EventType.CHANGE_DELETED]
)
def test_a_closed_change_is_never_vouched_for_even_restored(kind: str) -> None:
    watch, _ = live_watch()
    watch.observe(event(EventType.PATCHSET_CREATED))
    watch.observe(event(kind))
    assert watch.current_patchset(12, FIRST) is None
    watch.observe(event(EventType.CHANGE_RESTORED))
    assert watch.current_patchset(12, FIRST) is None  # Gerrit is asked, as before


def test_nothing_is_vouched_for_across_a_gap() -> None:
    watch, stream = live_watch()
    watch.observe(event(EventType.PATCHSET_CREATED))
    stream.live = False
    assert watch.current_patchset(12, FIRST) is None
    stream.live, stream.connects = True, 2  # reconnected, not caught up yet
    assert watch.current_patchset(12, FIRST) is None
    watch.went_live(stream)  # caught up: the upload was seen before the gap
    assert watch.current_patchset(12, FIRST) is None
    watch.observe(event(EventType.PATCHSET_CREATED, change=13))
    assert watch.current_patchset(13, FIRST) == 1


def test_lines_not_taken_in_yet_or_dropped_by_gerrit_stop_it() -> None:
    watch, stream = live_watch()
    watch.observe(event(EventType.PATCHSET_CREATED))
    stream.waiting_lines = 1  # an abandon may be among them
    assert watch.current_patchset(12, FIRST) is None
    stream.waiting_lines = 0
    assert watch.current_patchset(12, FIRST) == 1
    watch.lost()  # Gerrit said it dropped output
    assert watch.current_patchset(12, FIRST) is None
    assert ChangeWatch().current_patchset(12, FIRST) is None  # never live


def test_the_oldest_changes_are_forgotten_first() -> None:
    watch, stream = ChangeWatch(max_changes=2), Stream()
    watch.went_live(stream)
    for number in (1, 2, 3):
        watch.observe(event(EventType.PATCHSET_CREATED, change=number))
    assert [watch.current_patchset(n, FIRST) for n in (1, 2, 3)] == [None, 1, 1]


def gerrit(status: str = "NEW") -> FakeGerrit:
    revisions = [Revision(1, FIRST, files={"a.py": {}})]
    return FakeGerrit([Change(12, "acme/driver", revisions, status=status)])


def spared() -> float:
    labels = {"connection": "review", "read": "planning"}
    return REGISTRY.get_sample_value("crosscheck_gerrit_reads_spared_total", labels) or 0.0


async def test_planning_without_file_matchers_reads_nothing_the_stream_vouches_for() -> None:
    fake = gerrit()
    before = spared()
    watch, _ = live_watch()
    changes = GerritChanges(fake.rest(), CONNECTION, watch)
    state = await changes.change_state("acme/driver", 12, FIRST, files=False)
    # Not seen yet: read, without the files nobody needs (Gerrit diffs for them).
    (request,) = fake.requests
    assert request.url.params.get_list("o") == ["CURRENT_REVISION"]
    assert (state.current_patchset, state.files) == (1, None)
    watch.observe(event(EventType.PATCHSET_CREATED))
    fake.requests.clear()
    state = await changes.change_state("acme/driver", 12, FIRST, files=False)
    assert (state.status, state.current_patchset, state.is_current(FIRST)) == ("NEW", 1, True)
    assert fake.requests == []
    assert spared() == before + 1
    # File matchers need the files: Gerrit is asked, with them.
    state = await changes.change_state("acme/driver", 12, FIRST)
    assert state.files == ("a.py",)
    (request,) = fake.requests
    assert request.url.params.get_list("o") == ["CURRENT_REVISION", "CURRENT_FILES"]


REPORT = Report(
    key="check:1:final",
    connection="review",
    project="acme/driver",
    change=12,
    patchset=1,
    revision=FIRST,
    message="Build succeeded (check pipeline).",
    labels={"Verified": 1},
)


async def test_a_vote_always_reads_the_change_first() -> None:
    """Gerrit takes a vote on an outdated patchset (200): a stream that lags would not
    have said yet that a newer one came, so the watch never spares this read."""
    fake = gerrit()
    fake.add_change(Change(12, "acme/driver", [Revision(1, FIRST), Revision(2, SECOND)]))
    outcome = await GerritReporter(CONNECTION, fake.rest()).send(REPORT)
    assert outcome.state is ReportState.SENT
    assert fake.reads == 1
    assert "labels" not in fake.reviews[0]  # a comment on the old patchset, no vote


def test_an_upload_that_came_late_or_a_while_ago_is_not_vouched_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watch, _ = live_watch()
    # Made by Gerrit a minute before the stream brought it: the stream lagged, and an
    # abandon may be queued behind it.
    watch.observe(event(EventType.PATCHSET_CREATED, age=60))
    assert watch.current_patchset(12, FIRST) is None
    watch.observe(event(EventType.PATCHSET_CREATED, change=13))
    assert watch.current_patchset(13, FIRST) == 1
    later = time.monotonic() + 3  # planned three seconds after it came: ask Gerrit
    monkeypatch.setattr("crosscheck.drivers.gerrit.watch.time.monotonic", lambda: later)
    assert watch.current_patchset(13, FIRST) is None
