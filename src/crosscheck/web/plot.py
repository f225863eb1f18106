"""A CI account's daily success rate as SVG geometry: numbers for the template, no script.

Days without a final result leave a gap in the line instead of drawing a rate
nobody measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from crosscheck.web.views import LOW_SUCCESS, DailyRate

WIDTH = 640
HEIGHT = 220
LEFT = 44
RIGHT = 12
TOP = 12
BOTTOM = 28


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    #: The tooltip, e.g. `2024-05-01: 80% (8 of 10)`.
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Plot:
    width: int
    height: int
    left: int
    top: int
    inner_width: int
    inner_height: int
    #: Each a polyline's `points` attribute: runs of consecutive days.
    lines: list[str]
    points: list[PlotPoint]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    #: The low-success line (60%).
    threshold_y: float
    first: date
    last: date


def success_plot(daily: Sequence[DailyRate], first: date, last: date) -> Plot:
    inner_width = WIDTH - LEFT - RIGHT
    inner_height = HEIGHT - TOP - BOTTOM
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return round(LEFT + inner_width * (day - first).days / span, 1)

    def y_of(rate: float) -> float:
        return round(TOP + inner_height * (1 - rate), 1)

    shown = [d for d in daily if first <= d.day <= last and d.final]
    points = [
        PlotPoint(x_of(d.day), y_of(d.rate), f"{d.day}: {d.rate:.0%} ({d.passed} of {d.final})")
        for d in shown
    ]
    return Plot(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        inner_width=inner_width,
        inner_height=inner_height,
        lines=_lines(shown, points),
        points=points,
        y_ticks=[Tick(y_of(r), f"{r:.0%}") for r in (0.0, 0.25, 0.5, 0.75, 1.0)],
        x_ticks=[Tick(x_of(d), d.isoformat()) for d in _date_ticks(first, last)],
        threshold_y=y_of(LOW_SUCCESS),
        first=first,
        last=last,
    )


def _lines(shown: Sequence[DailyRate], points: Sequence[PlotPoint]) -> list[str]:
    lines: list[list[PlotPoint]] = []
    previous: date | None = None
    for day, point in zip(shown, points, strict=True):
        if previous is None or day.day - previous > timedelta(days=1):
            lines.append([])
        lines[-1].append(point)
        previous = day.day
    return [" ".join(f"{p.x},{p.y}" for p in line) for line in lines if len(line) > 1]


def _date_ticks(first: date, last: date, count: int = 5) -> list[date]:
    span = (last - first).days
    if span <= 0:
        return [first]
    step = max(span // (count - 1), 1)
    ticks = [first + timedelta(days=i) for i in range(0, span, step)]
    if (last - ticks[-1]).days < step / 2:
        ticks.pop()
    return [*ticks, last]
