"""Cron schedules in UTC: the next scheduled time, and the latest one in a window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from crosscheck.drivers.timer.schedule import latest_tick, next_tick

from .fakes import at


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S %a")


@pytest.fixture(autouse=True)
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's time zone must never shift a schedule: run every test far from UTC."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_next_time_is_strictly_after_and_in_utc() -> None:
    assert iso(next_tick("0 2 * * *", at("2026-03-10 01:59:59"))) == "2026-03-10 02:00:00 Tue"
    assert iso(next_tick("0 2 * * *", at("2026-03-10 02:00:00"))) == "2026-03-11 02:00:00 Wed"
    assert iso(next_tick("* * * * *", at("2026-03-10 02:00:00.5"))) == "2026-03-10 02:01:00 Tue"


def test_weekdays_are_cron_s_with_sunday_zero() -> None:
    # Unlike Zuul's apscheduler (Monday is 0): 6 is Saturday, 0 and 7 are Sunday.
    assert iso(next_tick("0 4 * * 6", at("2026-03-10 00:00:00"))) == "2026-03-14 04:00:00 Sat"
    assert iso(next_tick("0 4 * * 0", at("2026-03-10 00:00:00"))) == "2026-03-15 04:00:00 Sun"
    assert iso(next_tick("0 4 * * 7", at("2026-03-10 00:00:00"))) == "2026-03-15 04:00:00 Sun"


def test_the_latest_time_in_a_window_includes_its_end_and_excludes_its_start() -> None:
    tick = at("2026-03-10 02:00:00")
    assert latest_tick("0 2 * * *", tick - 60, tick) == tick
    assert latest_tick("0 2 * * *", tick - 60, tick + 0.25) == tick
    assert latest_tick("0 2 * * *", tick, tick + 3600) is None
    assert latest_tick("0 2 * * *", tick - 60, tick - 0.5) is None


def test_of_many_missed_times_only_the_latest_is_returned() -> None:
    down = at("2026-03-01 12:00:00")
    back = at("2026-03-10 09:30:00")
    assert iso(latest_tick("0 2 * * *", down, back) or 0) == "2026-03-10 02:00:00 Tue"
    assert iso(latest_tick("*/15 * * * *", down, back) or 0) == "2026-03-10 09:30:00 Tue"
