"""A CI account's daily success rate, and the health table's trend, as SVG geometry.

Numbers for the templates, no script. Each day owns a slot of the x axis and is
drawn at its middle, so one day of data is a bar in the middle of the axis with
its value written above, not a dot on the edge; a year is a line over thin bars.
Days without a final result leave a gap instead of drawing a rate nobody measured.
Every label is placed inside the viewBox: nothing is clipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from crosscheck.web.views import LOW_SUCCESS, DailyRate, TrendDay

WIDTH = 640
HEIGHT = 220
LEFT = 44
#: Room for a value label centred on the last day.
RIGHT = 20
#: Room for a value label above a 100% point.
TOP = 24
BOTTOM = 28
#: An 11px label's advance per character, a little generous (system-ui digits are ~6px).
CHAR_WIDTH = 6.6
#: Space kept between two x labels, and between a label and the edge.
GAP = 8
#: Bars never grow wider than this, so a single day reads as a bar, not a wall.
MAX_BAR = 36
#: Beyond this many days points would overlap: the line and bars carry the data alone.
MAX_POINT_DAYS = 62


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    #: The tooltip, e.g. `2024-05-01: 80% (8 of 10)`.
    label: str


@dataclass(frozen=True)
class PlotBar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    #: SVG text-anchor: start, middle or end, so the label stays inside the plot.
    anchor: str = "middle"


@dataclass(frozen=True)
class ValueLabel:
    """The rate written beside a day with no neighbour (a lone point is easy to miss)."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


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
    bars: list[PlotBar]
    values: list[ValueLabel]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    #: The low-success line (60%).
    threshold_y: float
    first: date
    last: date


@dataclass(frozen=True)
class _Axes:
    first: date
    days: int
    inner_width: int
    inner_height: int

    @property
    def slot(self) -> float:
        return self.inner_width / self.days

    def x_of(self, day: date) -> float:
        return round(LEFT + self.slot * ((day - self.first).days + 0.5), 1)

    def y_of(self, rate: float) -> float:
        return round(TOP + self.inner_height * (1 - rate), 1)


def success_plot(daily: Sequence[DailyRate], first: date, last: date) -> Plot:
    axes = _Axes(
        first, max((last - first).days + 1, 1), WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    )
    shown = [d for d in daily if first <= d.day <= last and d.final]
    points = [PlotPoint(axes.x_of(d.day), axes.y_of(d.rate), _tooltip(d)) for d in shown]
    lines = _lines(shown, points)
    in_runs = {p for line in lines for p in line}  # the rest have no neighbour
    return Plot(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        inner_width=axes.inner_width,
        inner_height=axes.inner_height,
        lines=[" ".join(f"{p.x},{p.y}" for p in line) for line in lines],
        points=points if axes.days <= MAX_POINT_DAYS else [],
        bars=[_bar(axes, d) for d in shown],
        values=[_value(p, d) for p, d in zip(points, shown, strict=True) if p not in in_runs],
        y_ticks=[Tick(axes.y_of(r), f"{r:.0%}", "end") for r in (0.0, 0.25, 0.5, 0.75, 1.0)],
        x_ticks=_x_ticks(axes, last),
        threshold_y=axes.y_of(LOW_SUCCESS),
        first=first,
        last=last,
    )


def _tooltip(day: DailyRate) -> str:
    return f"{day.day}: {day.rate:.0%} ({day.passed} of {day.final})"


def _bar(axes: _Axes, day: DailyRate) -> PlotBar:
    width = round(min(max(axes.slot * 0.7, 1.0), MAX_BAR), 1)
    y = axes.y_of(day.rate)
    # A 0% day still shows a sliver on the axis: measured, unlike a gap.
    height = max(round(TOP + axes.inner_height - y, 1), 2.0)
    return PlotBar(round(axes.x_of(day.day) - width / 2, 1), y, width, height, _tooltip(day))


def _lines(shown: Sequence[DailyRate], points: Sequence[PlotPoint]) -> list[list[PlotPoint]]:
    """Runs of consecutive days with a result; a run of one day is no line."""
    runs: list[list[PlotPoint]] = []
    previous: date | None = None
    for day, point in zip(shown, points, strict=True):
        if previous is None or day.day - previous > timedelta(days=1):
            runs.append([])
        runs[-1].append(point)
        previous = day.day
    return [run for run in runs if len(run) > 1]


def _value(point: PlotPoint, day: DailyRate) -> ValueLabel:
    # Above the point: TOP leaves room for it even at 100%.
    text = f"{day.rate:.0%} ({day.passed}/{day.final})"
    return ValueLabel(point.x, round(point.y - 8, 1), text, _placed(point.x, text).anchor)


def _x_ticks(axes: _Axes, last: date) -> list[Tick]:
    """Dates under the axis, as many as fit without touching, the first and last kept."""
    label_width = len("2024-05-01") * CHAR_WIDTH
    most = max(int(axes.inner_width // (label_width + GAP)), 1)
    candidates = _date_ticks(axes.first, last, most)
    kept: list[Tick] = []
    for day in candidates:
        tick = _placed(axes.x_of(day), day.isoformat())
        if kept and _overlap(kept[-1], tick):
            if day != last:
                continue
            while kept and _overlap(kept[-1], tick):
                kept.pop()  # the last date matters more than the ones before it
        kept.append(tick)
    return kept


def _placed(position: float, label: str) -> Tick:
    """Centred under its day, unless that would cross the viewBox's edge."""
    half = len(label) * CHAR_WIDTH / 2
    if position - half < GAP:
        return Tick(position, label, "start")
    if position + half > WIDTH - GAP:
        return Tick(position, label, "end")
    return Tick(position, label, "middle")


def _extent(tick: Tick) -> tuple[float, float]:
    width = len(tick.label) * CHAR_WIDTH
    start = {"start": 0.0, "middle": width / 2, "end": width}[tick.anchor]
    return tick.position - start, tick.position - start + width


def _overlap(left: Tick, right: Tick) -> bool:
    return _extent(left)[1] + GAP > _extent(right)[0]


def _date_ticks(first: date, last: date, count: int) -> list[date]:
    span = (last - first).days
    if span <= 0 or count <= 1:
        return [first] if span <= 0 else [first, last]
    step = max(-(-span // (count - 1)), 1)
    ticks = [first + timedelta(days=i) for i in range(0, span, step)]
    return [*ticks, last]


# -- the health table's sparkline --------------------------------------------

SPARK_WIDTH = 92
SPARK_HEIGHT = 26
#: Above the bars: none touches the top edge.
SPARK_TOP = 2


@dataclass(frozen=True)
class SparkBar:
    x: float
    width: float
    #: The passed part (bottom) and the rest of the finished results (on top).
    passed_y: float
    passed_height: float
    other_y: float
    other_height: float
    label: str


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    baseline: float
    #: The figures in words: the whole window's, for the tooltip and screen readers.
    title: str
    # Two paths, not a titled group of rects per day: 180 CIs' rows stay a few
    # hundred kilobytes of HTML instead of over a megabyte.
    passed_path: str
    other_path: str
    trend: Sequence[TrendDay] = ()

    @property
    def bars(self) -> list[SparkBar]:
        """The bars the paths draw, as numbers (the page needs only the paths)."""
        return [_spark_bar(self.trend, index, tenths) for index, tenths in _bar_tenths(self.trend)]


#: Heights are whole tenths of a pixel, as the coordinates always were: whole tenths
#: make the paths from a table of strings, not a round and a float format per
#: coordinate (180 rows x 30 days of those were two thirds of the table's rendering).
_BOTTOM = (SPARK_HEIGHT - 1) * 10
_USABLE = (SPARK_HEIGHT - SPARK_TOP - 1) * 10
_TENTHS = [f"{n / 10:g}" for n in range(SPARK_HEIGHT * 10 + 1)]


@lru_cache(maxsize=8)
def _slots(days: int) -> list[tuple[str, str, str]]:
    """Per day of a `days`-day trend, its bar's path before y, between y and the
    height, and after the height: x and the width are the same on every row."""
    slot = SPARK_WIDTH / days
    width = round(max(slot * 0.7, 1.0), 1)
    return [
        (f"M{round(slot * index + slot * 0.15, 1):g} ", f"h{width:g}v", f"h{-width:g}z")
        for index in range(days)
    ]


def _bar_tenths(trend: Sequence[TrendDay]) -> list[tuple[int, tuple[int, int, int]]]:
    """(index, (total, passed, other)) of each day with a finished result, in tenths of
    a pixel: scaled to the busiest day, at least a pixel high; each part rounded on its
    own, as the bars were drawn before they were tenths."""
    busiest = max((d.final for d in trend), default=0)
    if not busiest:
        return []
    scale = _USABLE / busiest
    found = []
    for index, day in enumerate(trend):
        final = day.final
        if final:
            total = max(final * scale, 10.0)
            passed = total * day.passed / final
            found.append((index, (round(total), round(passed), round(total - passed))))
    return found


def _spark_bar(trend: Sequence[TrendDay], index: int, tenths: tuple[int, int, int]) -> SparkBar:
    total, passed, other = tenths
    slot = SPARK_WIDTH / max(len(trend), 1)
    day = trend[index]
    return SparkBar(
        x=round(slot * index + slot * 0.15, 1),
        width=round(max(slot * 0.7, 1.0), 1),
        passed_y=(_BOTTOM - passed) / 10,
        passed_height=passed / 10,
        other_y=(_BOTTOM - total) / 10,
        other_height=other / 10,
        label=f"{day.day}: {day.passed} of {day.final} passed",
    )


def sparkline(trend: Sequence[TrendDay]) -> Sparkline:
    """One bar per day (finished results, scaled to the busiest day), passed in green."""
    passed_parts: list[str] = []
    other_parts: list[str] = []
    keep_passed, keep_other = passed_parts.append, other_parts.append
    scale = _USABLE / (max([d.final for d in trend], default=0) or 1)
    tenths = _TENTHS
    slots = _slots(len(trend)) if trend else []
    # The arithmetic of _bar_tenths, inline: this loop runs for 180 rows x 30 days.
    for (before, middle, after), day in zip(slots, trend, strict=True):
        final = day.final
        if not final:
            continue
        total = max(final * scale, 10.0)  # a pixel at least
        exact = total * day.passed / final
        passed, other = round(exact), round(total - exact)
        if passed:
            keep_passed(before + tenths[_BOTTOM - passed] + middle + tenths[passed] + after)
        if other:
            keep_other(before + tenths[_BOTTOM - round(total)] + middle + tenths[other] + after)
    return Sparkline(
        SPARK_WIDTH,
        SPARK_HEIGHT,
        SPARK_HEIGHT - 0.5,
        _spark_title(trend),
        "".join(passed_parts),
        "".join(other_parts),
        trend,
    )


def _spark_title(trend: Sequence[TrendDay]) -> str:
    if not trend:
        return "no days"
    final = passed = active = 0
    for day in trend:  # one pass: this runs for every row of the health table
        if day.final:
            final += day.final
            passed += day.passed
            active += 1
    span = f"{trend[0].day} to {trend[-1].day}"
    if not final:
        return f"{span}: no finished results"
    return (
        f"{span}: {passed} of {final} finished results passed ({passed / final:.0%}), "
        f"on {active} of {len(trend)} days"
    )
