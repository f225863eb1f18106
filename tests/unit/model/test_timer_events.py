"""Timer events: their key, which sources move a cursor, and their JSON round trip."""

from __future__ import annotations

from dataclasses import replace

from crosscheck.model.events import TIMER_EVENT, Event, Origin, TimerTick
from crosscheck.store.event_codec import dump_event, load_event

TICK = Event(
    type=TIMER_EVENT,
    connection="review",
    created_on=1_773_108_000,
    project="acme/driver",
    origin=Origin.TIMER,
    timer=TimerTick("daily", "master"),
)


def test_the_key_holds_pipeline_project_branch_and_scheduled_time() -> None:
    assert TICK.key.startswith("review|timer|acme/driver|")
    assert TICK.key.endswith("|daily@refs/heads/master||1773108000")
    for other in (
        replace(TICK, timer=TimerTick("weekly", "master")),
        replace(TICK, timer=TimerTick("daily", "stable/1.0")),
        replace(TICK, project="acme/lib"),
        replace(TICK, created_on=TICK.created_on + 60),
    ):
        assert other.key != TICK.key
    assert replace(TICK, timer=TimerTick("weekly", "master")).sameness != TICK.sameness
    assert TICK.ref == "refs/heads/master"


def test_only_in_order_sources_move_a_connection_cursor() -> None:
    assert [o.value for o in Origin if o.in_order] == ["stream", "catchup"]


def test_a_timer_event_survives_the_database() -> None:
    assert load_event(dump_event(TICK)) == TICK
