"""An event's JSON keeps when it was received; one stored before that was kept loads
as received at 0, so its build fetches afresh."""

from __future__ import annotations

import json
import time

from crosscheck.drivers.gerrit.events import parse_event
from crosscheck.executor.fetch_plan import event_time
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event
from crosscheck.store.event_codec import dump_event, load_event


def test_the_time_an_event_was_received_survives_the_database() -> None:
    event = Event(EventType.REF_UPDATED, "review", 1_773_108_000, received_at=1_773_108_000.75)
    assert load_event(dump_event(event)).received_at == 1_773_108_000.75


def test_an_event_stored_before_the_receipt_time_was_kept_always_fetches() -> None:
    stored = json.loads(dump_event(Event(EventType.REF_UPDATED, "review", 1_773_108_000)))
    del stored["received_at"]
    loaded = load_event(json.dumps(stored))
    assert loaded.received_at == 0.0
    assert event_time(loaded.received_at) == float("inf")


def test_an_event_from_the_stream_is_received_when_parsed() -> None:
    line = {
        "type": "ref-updated",
        "eventCreatedOn": 1_773_108_000,
        "refUpdate": {
            "project": "acme/driver",
            "refName": "refs/heads/master",
            "oldRev": "0" * 40,
            "newRev": "1" * 40,
        },
    }
    before = time.time()
    event = parse_event(line, "review")
    assert before <= event.received_at <= time.time()
    assert Event(EventType.REF_UPDATED, "review", 1).received_at == 0.0  # unknown
