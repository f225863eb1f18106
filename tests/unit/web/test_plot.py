from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from crosscheck.results.records import day_number
from crosscheck.web.plot import (
    CHAR_WIDTH,
    HEIGHT,
    MAX_BAR,
    TOP,
    WIDTH,
    Plot,
    Tick,
    sparkline,
    success_plot,
)
from crosscheck.web.views import TrendDay, daily_rate

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
    # Each day owns a slot of the axis and sits in its middle.
    slot = plot.inner_width / 10
    assert full.x == pytest.approx(plot.left + slot / 2, abs=0.1)
    assert empty.x == pytest.approx(plot.left + plot.inner_width - slot / 2, abs=0.1)
    assert full.label == "2024-05-01: 100% (4 of 4)"
    assert plot.threshold_y < HEIGHT
    assert plot.x_ticks[0].label == "2024-05-01"
    assert plot.x_ticks[-1].label == "2024-05-10"


def test_days_outside_the_range_are_left_out() -> None:
    plot = success_plot([daily_rate(day_number_of(date(2024, 4, 1)), 1, 1)], FIRST, LAST)
    assert plot.points == []
    assert plot.lines == []


def _extent(tick: Tick) -> tuple[float, float]:
    width = len(tick.label) * CHAR_WIDTH
    start = {"start": 0.0, "middle": width / 2, "end": width}[tick.anchor]
    return tick.position - start, tick.position - start + width


def _inside(plot: Plot) -> None:
    """Every x label within the viewBox, none touching the next."""
    extents = [_extent(t) for t in plot.x_ticks]
    assert all(left >= 0 and right <= WIDTH for left, right in extents), extents
    assert all(a[1] < b[0] for a, b in itertools.pairwise(extents)), extents


def test_one_day_is_a_bar_in_the_middle_with_its_value_written() -> None:
    plot = success_plot([daily_rate(day_number_of(LAST), 3, 4)], LAST, LAST)
    (bar,) = plot.bars
    assert bar.width == MAX_BAR  # a bar, not a hairline
    assert bar.x + bar.width / 2 == pytest.approx(plot.left + plot.inner_width / 2, abs=0.1)
    assert bar.y + bar.height == pytest.approx(TOP + plot.inner_height)
    (value,) = plot.values
    assert value.text == "75% (3/4)"
    assert value.y > 0
    assert [t.label for t in plot.x_ticks] == ["2024-05-10"]
    assert plot.x_ticks[0].anchor == "middle"
    _inside(plot)


def test_a_lone_day_at_the_right_edge_keeps_its_labels_inside() -> None:
    plot = success_plot([daily_rate(day_number_of(LAST), 1, 1)], FIRST, LAST)
    (value,) = plot.values
    assert value.anchor in ("middle", "end")
    half = len(value.text) * CHAR_WIDTH / 2
    assert value.anchor == "end" or value.x + half <= WIDTH
    assert value.y - 11 >= 0  # an 11px label above a 100% point fits under the top
    _inside(plot)


def test_days_in_a_line_get_no_value_label() -> None:
    daily = [daily_rate(day_number_of(date(2024, 5, d)), 1, 2) for d in (1, 2, 3)]
    assert success_plot(daily, FIRST, LAST).values == []


@pytest.mark.parametrize("days", [2, 7, 30, 90, 365])
def test_x_labels_are_thinned_and_never_clipped(days: int) -> None:
    first = LAST - timedelta(days=days - 1)
    plot = success_plot([], first, LAST)
    assert plot.x_ticks[0].label == first.isoformat()
    assert plot.x_ticks[-1].label == LAST.isoformat()
    assert 2 <= len(plot.x_ticks) <= 8
    _inside(plot)


def test_a_year_draws_the_line_and_bars_without_points() -> None:
    first = LAST - timedelta(days=364)
    daily = [daily_rate(day_number_of(first + timedelta(days=i)), 1, 2) for i in range(365)]
    plot = success_plot(daily, first, LAST)
    assert len(plot.bars) == 365
    assert plot.points == []  # 365 dots 1.6px apart would be one smear
    assert len(plot.lines) == 1
    assert all(b.width >= 1 for b in plot.bars)


def test_y_labels_end_left_of_the_plot() -> None:
    plot = success_plot([], FIRST, LAST)
    assert {t.anchor for t in plot.y_ticks} == {"end"}
    assert all(TOP <= t.position <= HEIGHT for t in plot.y_ticks)


def test_sparkline_has_a_bar_per_day_with_results_scaled_to_the_busiest() -> None:
    days = [TrendDay(FIRST + timedelta(days=i), 0, 0) for i in range(30)]
    days[3] = TrendDay(days[3].day, 2, 4)
    days[29] = TrendDay(days[29].day, 8, 8)
    line = sparkline(days)
    assert len(line.bars) == 2
    half, full = line.bars
    assert full.passed_height == pytest.approx(
        2 * (half.passed_height + half.other_height), abs=0.2
    )
    assert half.passed_height == pytest.approx(half.other_height)
    assert full.other_height == 0
    assert full.x + full.width <= line.width
    assert min(b.other_y for b in line.bars) >= 0
    assert half.label == "2024-05-04: 2 of 4 passed"
    assert "10 of 12 finished results passed (83%)" in line.title
    assert "on 2 of 30 days" in line.title
    # Drawn as two paths: both days' passed parts, and the one day that had failures.
    assert line.passed_path.count("M") == 2
    assert line.other_path.count("M") == 1
    assert line.other_path.startswith(f"M{half.x:g} {half.other_y:g}h{half.width:g}")


def test_sparkline_of_a_quiet_month_says_so() -> None:
    days = [TrendDay(FIRST + timedelta(days=i), 0, 0) for i in range(30)]
    line = sparkline(days)
    assert line.bars == []
    assert line.title.endswith("no finished results")


def test_sparkline_paths_draw_its_bars_stacked_within_it() -> None:
    finals = [0, 1, 7, 300, 299, 13, 0, 2, 150, 151]
    days = [
        TrendDay(FIRST + timedelta(days=i), final * (i % 4) // 3, final)
        for i, final in enumerate(finals)
    ]
    line = sparkline(days)

    def path(parts: list[tuple[float, float, float, float]]) -> str:
        return "".join(f"M{x:g} {y:g}h{w:g}v{h:g}h{-w:g}z" for x, y, w, h in parts if h > 0)

    bars = line.bars
    assert len(bars) == sum(1 for f in finals if f)
    assert line.passed_path == path([(b.x, b.passed_y, b.width, b.passed_height) for b in bars])
    assert line.other_path == path([(b.x, b.other_y, b.width, b.other_height) for b in bars])
    for bar in bars:
        # The passed part sits on the baseline, the rest on top of it, to a tenth of a pixel.
        assert bar.passed_y + bar.passed_height == pytest.approx(line.height - 1)
        assert bar.other_y + bar.other_height == pytest.approx(bar.passed_y, abs=0.11)
        assert bar.other_y >= 0
        assert bar.x + bar.width <= line.width
