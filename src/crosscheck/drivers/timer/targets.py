"""What the timer fires, read from the configuration: pure, no I/O.

A due rule is one timer trigger of one pipeline whose latest scheduled time falls
in the window the timer is looking at. It fires for every project entry with
jobs in that pipeline, on the entry's connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from crosscheck.drivers.timer.schedule import latest_tick, next_tick
from crosscheck.model.config import Config
from crosscheck.model.pipeline import TimerTrigger
from crosscheck.model.project import Project


@dataclass(frozen=True)
class Due:
    """One timer rule of one pipeline, due at a scheduled time."""

    pipeline: str
    trigger: TimerTrigger
    #: The scheduled time, seconds since the epoch (a whole minute).
    at: int


@dataclass(frozen=True)
class Target:
    """A project entry (an exact name or a ^regex) a due rule fires for, and where."""

    connection: str
    project: Project


def due_rules(config: Config, after: float, until: float) -> list[Due]:
    """Every timer rule with a scheduled time in (after, until], at its latest such time:
    earlier times in the window were missed and are not replayed."""
    dues = []
    for name, pipeline in config.pipelines.items():
        for trigger in pipeline.timers:
            at = latest_tick(trigger.cron, after, until)
            if at is not None:
                dues.append(Due(name, trigger, int(at)))
    return dues


def next_due(config: Config, after: float) -> float | None:
    """The earliest scheduled time of any timer rule after `after`."""
    ticks = [
        next_tick(trigger.cron, after)
        for pipeline in config.pipelines.values()
        for trigger in pipeline.timers
    ]
    return min(ticks, default=None)


def targets(config: Config, pipeline: str) -> tuple[list[Target], list[str]]:
    """The project entries with jobs in the pipeline, each on its connection; and the
    entries that cannot fire, with why."""
    found: list[Target] = []
    problems: list[str] = []
    for entry in config.projects:
        if not entry.pipelines.get(pipeline):
            continue
        # The loader gives every entry the only connection when there is one, so an
        # entry is without one only when the configuration defines no connection.
        if entry.connection is None:
            problems.append(f"project '{entry.name}' names no connection")
        else:
            found.append(Target(entry.connection, entry))
    return found, problems
