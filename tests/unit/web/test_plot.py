from __future__ import annotations

from datetime import UTC, date, datetime, time

from crosscheck.results.records import day_number
from crosscheck.web.plot import HEIGHT, TOP, success_plot
from crosscheck.web.views import daily_rate

FIRST = date(2024, 5, 1)
LAST = date(2024, 5, 10)


def day_number_of(on: date) -> int:
    return day_number(datetime.combine(on, time(), UTC))


def test_a_missing_day_breaks_the_line() -> None:
    daily = [daily_rate(day_number_of(date(2024, 5, d)), 1, 2) for d in (1, 2, 3, 6, 7)]
    plot = success_plot(daily, FIRST, LAST)
    assert len(plot.points) == 5
    assert len(plot.lines) == 2
    assert plot.lines[0].count(",") == 3


def test_rates_map_to_height_and_dates_to_width() -> None:
    daily = [daily_rate(day_number_of(FIRST), 4, 4), daily_rate(day_number_of(LAST), 0, 3)]
    plot = success_plot(daily, FIRST, LAST)
    full, empty = plot.points
    assert full.y == TOP
    assert empty.y == TOP + plot.inner_height
    assert full.x == plot.left
    assert empty.x == plot.left + plot.inner_width
    assert full.label == "2024-05-01: 100% (4 of 4)"
    assert plot.threshold_y < HEIGHT
    assert plot.x_ticks[0].label == "2024-05-01"
    assert plot.x_ticks[-1].label == "2024-05-10"


def test_days_outside_the_range_are_left_out() -> None:
    plot = success_plot([daily_rate(day_number_of(date(2024, 4, 1)), 1, 1)], FIRST, LAST)
    assert plot.points == []
    assert plot.lines == []
