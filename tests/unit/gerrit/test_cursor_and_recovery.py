"""The catch-up cursor, failed events, dropped output, quick stream ends, pruning."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.drivers.gerrit.catchup import missed_events
from crosscheck.drivers.gerrit.errors import GerritError
from crosscheck.drivers.gerrit.events import parse_line, parse_timestamp
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.source import (
    MAX_EVENT_TRIES,
    EventDeferredError,
    GerritEventSource,
)
from crosscheck.drivers.gerrit.stream import (
    GerritStream,
    StreamEndedError,
    StreamSettings,
    StreamState,
)
from crosscheck.events.intake import EventIntake
from crosscheck.model.events import Account, Event, Origin
from tests.fakes.gerrit import Change, FakeGerrit, Revision
from tests.fixtures.gerrit_events import recorded_event, recorded_line

from .helpers import CONNECTION, Sink, source_for


def recorded(type_: str, created_on: float | None = None, **fields: object) -> Event:
    event = parse_line(recorded_line(type_), "review")
    moment = int(created_on if created_on is not None else time.time() - 100)
    return dataclasses.replace(event, created_on=moment, **fields)  # type: ignore[arg-type]


async def test_a_webhook_event_never_moves_the_cursor(engine: AsyncEngine) -> None:
    intake = EventIntake(engine, Sink())
    await intake.start_cursor("review", time.time() - 3600)
    before = await intake.cursor("review")
    assert await intake.submit(recorded("patchset-created", origin=Origin.WEBHOOK))
    assert await intake.cursor("review") == before


async def test_an_event_from_a_clock_ahead_moves_the_cursor_to_now_at_most(
    engine: AsyncEngine,
) -> None:
    intake = EventIntake(engine, Sink())
    future = time.time() + 86400
    assert await intake.submit(recorded("patchset-created", created_on=future))
    cursor = await intake.cursor("review")
    assert cursor is not None
    assert cursor <= time.time()


async def test_a_failed_stream_event_drops_the_stream_and_is_given_up_after_tries(
    engine: AsyncEngine,
) -> None:
    sink = Sink(failures=MAX_EVENT_TRIES)
    source = source_for(engine, sink)
    line = json.dumps({**recorded_event("patchset-created"), "eventCreatedOn": 1})
    for _ in range(MAX_EVENT_TRIES - 1):
        with pytest.raises(EventDeferredError):
            await source._on_line(line)  # the stream reconnects; catch-up brings it again
    await source._on_line(line)  # the last try gives up instead of blocking the stream
    assert sink.events == []
    await source._on_line(line)  # and a later copy is processed normally
    assert len(sink.events) == 1


async def test_dropped_output_runs_a_catch_up(engine: AsyncEngine) -> None:
    sink = Sink()
    source = source_for(engine, sink)
    catch_ups: list[bool] = []

    async def catch_up() -> None:
        catch_ups.append(True)

    source._catch_up = catch_up  # type: ignore[method-assign]
    await source._on_line('{"type":"dropped-output","eventCreatedOn":1795426192}')
    assert catch_ups == [True]
    assert sink.events == []


class RecordingSettings(StreamSettings):
    def __init__(self, failures: list[int]) -> None:
        super().__init__(healthy_after=60.0)
        object.__setattr__(self, "seen", failures)

    def backoff(self, failures: int) -> float:
        self.seen.append(failures)  # type: ignore[attr-defined]
        return 0.0


async def test_a_stream_gerrit_ends_at_once_backs_off_more_each_time() -> None:
    seen: list[int] = []

    class QuickEnds(GerritStream):
        async def _stream_once(self) -> None:
            if len(seen) >= 4:
                raise asyncio.CancelledError
            raise StreamEndedError("Gerrit ended the stream after 0.1s (exit status 1)")

    stream = QuickEnds(CONNECTION, lambda line: asyncio.sleep(0), settings=RecordingSettings(seen))
    with pytest.raises(asyncio.CancelledError):
        await stream.run()
    assert seen == [1, 2, 3, 4]


async def test_pruning_keeps_what_catch_up_may_still_deliver(engine: AsyncEngine) -> None:
    intake = EventIntake(engine, Sink())
    old = recorded("patchset-created", created_on=1000)
    recent = recorded("comment-added", created_on=5000)
    assert await intake.submit(old)
    assert await intake.submit(recent)
    # Received just now: nothing is old enough yet.
    assert await intake.prune("review", timedelta(days=7), before=10_000) == 0
    assert await intake.prune("review", timedelta(0), before=3000) == 1
    assert await intake.seen_count("review") == 1
    copy = dataclasses.replace(recent, origin=Origin.CATCHUP)
    assert not await intake.submit(copy)  # still known: a catch-up copy is dropped


async def test_two_alike_events_from_the_stream_are_both_processed(engine: AsyncEngine) -> None:
    # A state toggled twice within a second: the stream sends two events that look alike.
    sink = Sink()
    intake = EventIntake(engine, sink)
    toggle = recorded("private-state-changed")
    assert await intake.submit(toggle)
    assert await intake.submit(toggle)
    assert not await intake.submit(dataclasses.replace(toggle, origin=Origin.CATCHUP))
    assert len(sink.events) == 2


def _one_change_pushed_at(stamp: str) -> GerritRestClient:
    # Updated since (a reviewer added): Gerrit's `after:` query returns the change, so
    # only catch-up's own floor can keep its old patchset out.
    change = Change(
        7, "p", [Revision(1, "b" * 40, created=stamp)], updated="2026-11-23 10:00:00.000000000"
    )
    return FakeGerrit([change]).rest()


async def test_catch_up_never_looks_before_crosscheck_began_listening() -> None:
    pushed = parse_timestamp("2026-11-23 09:00:00.000000000")
    async with _one_change_pushed_at("2026-11-23 09:00:00.000000000") as rest:
        # Within the margin of a cursor that has seen events: caught up, as always.
        assert len(await missed_events(rest, "review", pushed + 30)) == 1
        # A CI started 30 s after the push: that change is not its business.
        assert await missed_events(rest, "review", pushed + 30, not_before=pushed + 30) == []


async def test_the_first_start_records_when_history_began(engine: AsyncEngine) -> None:
    intake = EventIntake(engine, Sink())
    assert await intake.history_start("review") is None
    await intake.start_cursor("review", 1_000.0)
    await intake.start_cursor("review", 2_000.0)  # history began at the first start
    assert await intake.history_start("review") == 1_000.0


async def test_a_catch_up_that_went_through_says_gerrit_is_back(engine: AsyncEngine) -> None:
    """Serve hands this to the report queue, so votes waiting out a back-off go at once."""
    gerrit, back = FakeGerrit(), []
    intake = EventIntake(engine, Sink())
    source = GerritEventSource(
        CONNECTION, intake, gerrit.rest("http://h/"), on_back=lambda: back.append(True)
    )
    await intake.start_cursor("review", time.time() - 60)
    gerrit.down = True
    with pytest.raises(GerritError):  # Gerrit still away: not back
        await source._catch_up()
    assert back == []
    gerrit.down = False
    await source._catch_up()
    assert back == [True]


async def test_the_watch_learns_from_the_source_and_trusts_only_after_a_catch_up(
    engine: AsyncEngine,
) -> None:
    """Events the intake took in teach the watch; it vouches only once the stream's
    catch-up went through, and no more from Gerrit's `dropped-output` until the next."""
    source = source_for(engine, Sink())
    await source.intake.start_cursor("review", time.time())
    upload = recorded("patchset-created", created_on=time.time())
    assert upload.change is not None
    assert upload.patchset is not None
    number, revision = upload.change.number, upload.patchset.revision
    source.stream.state = StreamState.CONNECTED
    source.stream.connects = 1
    await source._catch_up()
    await source.submit(upload)
    assert source.watch.current_patchset(number, revision) == upload.patchset.number
    source.watch.lost()
    assert source.watch.current_patchset(number, revision) is None
    source.stream.connects = 2  # reconnected: its catch-up is what makes it live again
    await source._catch_up()
    assert source.watch.current_patchset(number, revision) is None  # seen before the gap
    await source.submit(dataclasses.replace(upload, created_on=upload.created_on + 1))
    assert source.watch.current_patchset(number, revision) is None  # a copy: no newer upload


async def test_the_catch_up_line_says_which_new_events_are_the_cis_own(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator reading "2 new" after an outage looks for two builds: the CI's own
    vote among them triggers nothing, and the line says so."""
    ada, ci = Account("Ada", "ada@example.org", "ada"), Account(username="CI")
    human = recorded("comment-added", account=ada, origin=Origin.CATCHUP)
    own = recorded("comment-added", time.time() - 50, account=ci, origin=Origin.CATCHUP)

    async def missed(*args: object, **kwargs: object) -> list[Event]:
        return [human, own]

    monkeypatch.setattr("crosscheck.drivers.gerrit.source.missed_events", missed)
    intake = EventIntake(engine, Sink())
    await intake.start_cursor("review", time.time() - 60)
    source = GerritEventSource(CONNECTION, intake, FakeGerrit().rest("http://h/"))
    with caplog.at_level(logging.INFO):
        await source._catch_up()
    (line,) = [r.getMessage() for r in caplog.records if "caught up since" in r.getMessage()]
    assert line.endswith(
        ": 2 event(s) read from up to 1m 00s before it, 2 new "
        "(1 by the CI's own account ci, ignored)"
    )

    caplog.clear()
    with caplog.at_level(logging.INFO):
        await source._catch_up()  # both seen already: nothing new, nothing to explain
    (line,) = [r.getMessage() for r in caplog.records if "caught up since" in r.getMessage()]
    assert line.endswith(": 2 event(s) read from up to 1m 00s before it, 0 new")
